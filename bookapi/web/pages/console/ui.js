// Small DOM helpers shared by the views. Text from the API is only ever set as text, never
// parsed as markup.
"use strict";

import { describe } from "./api.js";

export const $ = (id) => document.getElementById(id);

/** An element: `h("td", { class: "n" }, "text", child)`; attributes set as given. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

let saidAt = -Infinity;

/** Say something in the page's status line (polite), or as an alert for a failure. */
export function tell(text) {
  $("alert").textContent = "";
  $("notice").textContent = text;
  saidAt = performance.now();
}

export function warn(errorOrText) {
  $("notice").textContent = "";
  $("alert").textContent = typeof errorOrText === "string" ? errorOrText : describe(errorOrText);
  saidAt = performance.now();
}

export function quiet() {
  $("notice").textContent = "";
  $("alert").textContent = "";
}

/** On a change of view: clear what was said, unless it was said just now (by the action
 *  that changed the view, such as "Saved."). */
export function quietUnlessNew() {
  if (performance.now() - saidAt > 1000) quiet();
}

/**
 * Run `work` with `button` disabled (and marked busy) until it ends; a failure is shown
 * (and handed to `onError`).
 * The result of `work`, or undefined if it failed.
 */
export async function busy(button, work, onError = () => {}) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (error) {
    warn(error);
    onError(error);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Run `work` (a view loading its data), showing a failure instead of raising it. */
export async function shown(work) {
  try {
    await work();
  } catch (error) {
    warn(error);
  }
}

/** The form's named fields as trimmed strings (empty ones left out). */
export function fields(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value.trim() !== "") values[name] = value.trim();
  }
  return values;
}

/** A list of names typed as "a; b; c". */
export function names(text) {
  return (text || "").split(";").map((part) => part.trim()).filter(Boolean);
}

export function when(timestamp) {
  if (!timestamp) return "";
  return new Date(timestamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Turn a keyset-paged list (`list.page`, with the cursors `load` keeps) by `step` pages:
 * both buttons stay disabled while the page loads, and `load` decides what is possible
 * next; a page that fails to load leaves the list where it was.
 */
export async function turnPage(list, step, load, previous, next) {
  next.disabled = previous.disabled = true;
  list.page += step;
  try {
    await load();
  } catch (error) {
    list.page -= step;
    previous.disabled = list.page === 0;
    next.disabled = false;
    warn(error);
  }
}
