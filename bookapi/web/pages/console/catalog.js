// The catalog: search with filters and sort, keyset paging with a visible position, a
// book's detail, and create / edit (with If-Match) / delete for the books one may change.
"use strict";

import { call, currentSession } from "./api.js";
import { $, busy, fields, h, names, quiet, shown, tell, turnPage, warn } from "./ui.js";

export const PAGE_SIZE = 20;
const FILTERS = ["q", "author", "tag", "language", "year_min", "year_max"];
const list = { cursors: [null], page: 0, query: {} };
const editing = { id: null, etag: null };

/** The catalog's current search, as list filters (also what an export may take). */
export function currentFilters() {
  return { ...list.query };
}

function readSearch() {
  const values = fields($("search-form"));
  const query = {};
  for (const name of FILTERS) if (values[name]) query[name] = values[name];
  query.sort = $("sort").value;
  return query;
}

export function showCatalog() {
  return shown(loadPage);
}

async function loadPage() {
  const params = new URLSearchParams({ ...list.query, limit: PAGE_SIZE });
  const cursor = list.cursors[list.page];
  if (cursor) params.set("cursor", cursor);
  const page = await call("GET", `/books?${params}`);
  const rows = page.items.map((book) => h("tr", {},
    h("td", { class: "lead" }, h("a", { href: `#/books/${book.id}` }, book.title)),
    h("td", { "data-label": "Authors" }, book.authors.join(", ")),
    h("td", { "data-label": "Year" }, book.published_year ?? "–"),
    h("td", { "data-label": "ISBN" }, book.isbn)));
  $("books").querySelector("tbody").replaceChildren(...rows);
  list.cursors[list.page + 1] = page.next_cursor;
  const first = list.page * PAGE_SIZE + 1;
  const empty = page.items.length === 0 && list.page === 0;
  $("books").hidden = empty;
  $("books-empty").hidden = !empty;
  $("books-position").textContent = empty ? "" :
    `Page ${list.page + 1} · books ${first}–${first + page.items.length - 1}` +
    (page.next_cursor ? "" : " (the last page)");
  $("next-page").disabled = !page.next_cursor;
  $("previous-page").disabled = list.page === 0;
}

function startOver() {
  list.cursors = [null];
  list.page = 0;
  list.query = readSearch();
  quiet();
  return showCatalog();
}

function field(label, value) {
  if (value == null || value === "" || (Array.isArray(value) && value.length === 0)) return [];
  return [h("dt", {}, label), h("dd", {}, Array.isArray(value) ? value.join(", ") : value)];
}

function mayChange(book) {
  const session = currentSession();
  return Boolean(session && session.user &&
    (session.user.role === "admin" || session.user.id === book.created_by));
}

export async function showBook(id) {
  $("book-title").textContent = "Loading…";
  $("book-fields").replaceChildren();
  $("book-actions").hidden = true;
  $("book-delete-confirm").hidden = true;
  try {
    const { data: book, etag } = await call("GET", `/books/${id}`, { etag: true });
    editing.id = book.id;
    editing.etag = etag;
    $("book-title").textContent = book.title;
    $("book-fields").replaceChildren(
      ...field("Authors", book.authors), ...field("ISBN", book.isbn),
      ...field("Year", book.published_year), ...field("Publisher", book.publisher),
      ...field("Language", book.language), ...field("Pages", book.pages),
      ...field("Tags", book.tags), ...field("Description", book.description));
    $("book-edit").href = `#/books/${book.id}/edit`;
    $("book-actions").hidden = !mayChange(book);
  } catch (error) {
    $("book-title").textContent = error.status === 404 ? "No such book" : "The book could not be loaded";
    warn(error);
  }
}

function fill(book) {
  $("edit-isbn").value = book.isbn || "";
  $("edit-title-input").value = book.title || "";
  $("edit-authors").value = (book.authors || []).join("; ");
  $("edit-year").value = book.published_year ?? "";
  $("edit-pages").value = book.pages ?? "";
  $("edit-language").value = book.language || "";
  $("edit-publisher").value = book.publisher || "";
  $("edit-tags").value = (book.tags || []).join("; ");
  $("edit-description").value = book.description || "";
}

export async function showEditor(id) {
  $("edit-form").reset();
  $("edit-reload").hidden = true;
  editing.id = id;
  editing.etag = null;
  $("edit-title").textContent = id ? "Edit book" : "New book";
  const back = id ? `#/books/${id}` : "#/books";
  $("edit-back").href = back;
  $("edit-cancel").href = back;
  if (!id) return;
  try {
    const { data: book, etag } = await call("GET", `/books/${id}`, { etag: true });
    editing.etag = etag;
    fill(book);
  } catch (error) {
    warn(error);
  }
}

function bookInput() {
  const values = fields($("edit-form"));
  const book = { isbn: values.isbn || "", title: values.title || "", authors: names(values.authors) };
  for (const name of ["published_year", "pages"]) {
    if (values[name]) book[name] = Number(values[name]);
  }
  for (const name of ["language", "publisher", "description"]) {
    if (values[name]) book[name] = values[name];
  }
  if (values.tags) book.tags = names(values.tags);
  return book;
}

async function save(event) {
  event.preventDefault();
  const book = bookInput();
  await busy($("edit-save"), async () => {
    let saved;
    if (editing.id) {
      // A full replace of what the form shows, only if nobody changed the book meanwhile.
      saved = await call("PUT", `/books/${editing.id}`, {
        json: book, headers: { "If-Match": editing.etag || "*" },
      });
    } else {
      saved = await call("POST", "/books", { json: book });
    }
    tell(editing.id ? "Saved." : "The book was added.");
    location.hash = `#/books/${saved.id}`;
  }, (error) => {
    // Someone else saved first: offer their version instead of a blind overwrite.
    if (error.status === 412) $("edit-reload").hidden = false;
  });
}

async function remove() {
  await busy($("book-delete-yes"), async () => {
    await call("DELETE", `/books/${editing.id}`, { headers: { "If-Match": editing.etag || "*" } });
    tell("The book was deleted.");
    location.hash = "#/books";
  });
}

function askDelete(show) {
  $("book-delete-confirm").hidden = !show;
  $("book-actions").hidden = show;
  (show ? $("book-delete-no") : $("book-delete")).focus();
}

export function wireCatalog() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("search"), startOver);
  });
  $("search-form").addEventListener("reset", () => setTimeout(startOver));
  $("books-empty-clear").addEventListener("click", () => $("search-form").reset());
  $("sort").addEventListener("change", startOver);
  for (const [id, step] of [["next-page", 1], ["previous-page", -1]]) {
    $(id).addEventListener("click", () => turnPage(list, step, loadPage, $("previous-page"), $("next-page")));
  }
  $("edit-form").addEventListener("submit", save);
  $("edit-reload").addEventListener("click", () => showEditor(editing.id));
  $("book-delete").addEventListener("click", () => askDelete(true));
  $("book-delete-no").addEventListener("click", () => askDelete(false));
  $("book-delete-yes").addEventListener("click", remove);
  list.query = readSearch();
}
