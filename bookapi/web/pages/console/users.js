// The admins' users page: find accounts by email prefix, page through them, promote or
// demote, disable or enable (never one's own account: the API refuses that too).
"use strict";

import { call, currentSession } from "./api.js";
import { $, busy, h, shown, tell, turnPage } from "./ui.js";

const PAGE_SIZE = 20;
const list = { cursors: [null], page: 0, q: "" };

async function change(user, changes, button) {
  await busy(button, async () => {
    const changed = await call("PATCH", `/users/${user.id}`, { json: changes });
    const what = "role" in changes
      ? (changed.role === "admin" ? "is now an admin" : "is no longer an admin")
      : (changed.disabled ? "is disabled and signed out everywhere" : "can sign in again");
    tell(`${changed.email} ${what}.`);
    await loadPage();
  });
}

function actions(user) {
  if (user.id === currentSession().user.id) return h("td", { "data-label": "Change" }, "(you)");
  // Each button's name starts with its visible text and says whom it changes.
  const promote = user.role === "admin"
    ? { text: "Make user", changes: { role: "user" } }
    : { text: "Make admin", changes: { role: "admin" } };
  const disable = user.disabled
    ? { text: "Enable", changes: { disabled: false } }
    : { text: "Disable", changes: { disabled: true } };
  return h("td", { "data-label": "Change", class: "actions" },
    ...[promote, disable].map((action) => h("button", {
      type: "button",
      class: action.changes.disabled ? "danger" : "quiet",
      "aria-label": `${action.text} ${user.email}`,
      onclick: (event) => change(user, action.changes, event.currentTarget),
    }, action.text)));
}

async function loadPage() {
  const params = new URLSearchParams({ limit: PAGE_SIZE });
  if (list.q) params.set("q", list.q);
  const cursor = list.cursors[list.page];
  if (cursor) params.set("cursor", cursor);
  const page = await call("GET", `/users?${params}`);
  $("users").querySelector("tbody").replaceChildren(...page.items.map((user) => h("tr", {},
    h("td", { "data-label": "Email" }, user.email),
    h("td", { "data-label": "Name" }, user.display_name || "–"),
    h("td", { "data-label": "Role" }, user.role),
    h("td", { "data-label": "Status" }, user.disabled ? "disabled" : "active"),
    actions(user))));
  list.cursors[list.page + 1] = page.next_cursor;
  const first = list.page * PAGE_SIZE + 1;
  $("users-position").textContent = page.items.length
    ? `Page ${list.page + 1} · accounts ${first}–${first + page.items.length - 1}`
    : "No account matches.";
  $("users-next").disabled = !page.next_cursor;
  $("users-previous").disabled = list.page === 0;
}

export function showUsers() {
  return shown(loadPage);
}

export function wireUsers() {
  $("users-search").addEventListener("submit", (event) => {
    event.preventDefault();
    list.q = $("users-q").value.trim();
    list.cursors = [null];
    list.page = 0;
    busy($("users-find"), loadPage);
  });
  for (const [id, step] of [["users-next", 1], ["users-previous", -1]]) {
    $(id).addEventListener("click", () => turnPage(list, step, loadPage, $("users-previous"), $("users-next")));
  }
}
