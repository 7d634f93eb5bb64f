// The bookapi console: plain JavaScript on the public API, no build step, no CDN.
"use strict";

const API = "/api/v1";
const PAGE_SIZE = 10;
const TERMINAL = ["succeeded", "failed"];
const state = { token: null, email: null, cursors: [null], page: 0, exportJob: null };

const $ = (id) => document.getElementById(id);

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

// Every call goes through here: the token rides along, a problem becomes an Error.
async function call(method, path, { body, type, raw } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (type) headers["Content-Type"] = type;
  const response = await fetch(API + path, { method, headers, body });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title;
    } catch (ignored) { /* not a problem document */ }
    throw new Error(`${response.status} ${detail}`);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);  // text only: no markup from data
  row.appendChild(td);
}

async function showBooks() {
  const params = new URLSearchParams({ limit: PAGE_SIZE, sort: "title" });
  const q = $("q").value.trim();
  if (q) params.set("q", q);
  const cursor = state.cursors[state.page];
  if (cursor) params.set("cursor", cursor);
  const page = await call("GET", `/books?${params}`);
  const body = $("books").querySelector("tbody");
  body.replaceChildren();
  for (const book of page.items) {
    const row = document.createElement("tr");
    [book.title, book.authors.join(", "), book.published_year, book.isbn].forEach((v) => cell(row, v));
    body.appendChild(row);
  }
  state.cursors[state.page + 1] = page.next_cursor;
  $("next-page").disabled = !page.next_cursor;
  $("previous-page").disabled = state.page === 0;
}

async function search(event) {
  event.preventDefault();
  state.cursors = [null];
  state.page = 0;
  try { await showBooks(); } catch (error) { say(error.message, true); }
}

async function turnPage(step) {
  state.page += step;
  try { await showBooks(); } catch (error) { say(error.message, true); }
}

async function signIn(event) {
  event.preventDefault();
  try {
    const email = $("email").value.trim();
    const body = JSON.stringify({ email, password: $("password").value });
    const tokens = await call("POST", "/auth/login", { body, type: "application/json" });
    state.token = tokens.access_token;
    const me = await call("GET", "/auth/me");
    state.email = me.email;
    $("who").textContent = `signed in as ${me.email}`;
    $("password").value = "";
    $("sign-in-form").hidden = true;
    $("sign-out").hidden = false;
    document.body.classList.add("signed-in");
    say("");
  } catch (error) {
    say(`Sign-in failed: ${error.message}`, true);
  }
}

async function signOut() {
  try { await call("POST", "/auth/logout"); } catch (ignored) { /* the token may have expired */ }
  state.token = null;
  $("who").textContent = "";
  $("sign-in-form").hidden = false;
  $("sign-out").hidden = true;
  document.body.classList.remove("signed-in");
}

// Follow a job over its websocket until it ends; reconnect when the server goes away (1001).
function follow(jobId, onProgress) {
  return new Promise((resolve) => {
    let ended = false;
    const open = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${API}/jobs/${jobId}/events`);
      socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: state.token }));
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "progress") onProgress(event.done, event.total);
        const job = event.job;
        if (job && (event.type === "finished" || TERMINAL.includes(job.state))) {
          ended = true;
          onProgress(job.progress.done, job.progress.total);
          resolve(job);
          socket.close();
        }
      };
      socket.onclose = (close) => {
        if (!ended && close.code !== 1008) setTimeout(open, 1000);
        if (close.code === 1008) say("The job's events were refused: sign in again.", true);
      };
    };
    open();
  });
}

function fileType(name) {
  return /\.csv$/i.test(name) ? "text/csv" : "application/x-ndjson";
}

async function startImport() {
  const file = $("import-file").files[0];
  if (!file) return say("Choose a CSV or NDJSON file first.", true);
  $("import-result").hidden = true;
  $("import-errors").replaceChildren();
  try {
    const conflict = $("on-conflict").value;
    const job = await call("POST", `/imports?on_conflict=${conflict}`, { body: file, type: fileType(file.name) });
    $("import-state").textContent = "queued";
    const ended = await follow(job.id, (done, total) => {
      $("import-progress").max = total || 1;
      $("import-progress").value = done;
      $("import-state").textContent = `running: ${done}${total ? ` of ${total}` : ""} rows`;
    });
    $("import-state").textContent = ended.state + (ended.error ? `: ${ended.error}` : "");
    if (ended.result) showImportResult(ended.result);
    await showBooks();
  } catch (error) {
    say(`Import failed: ${error.message}`, true);
  }
}

function showImportResult(result) {
  for (const name of ["inserted", "updated", "skipped", "failed"]) {
    $(`result-${name}`).textContent = result[name];
  }
  $("import-result").hidden = false;
  for (const error of result.errors.slice(0, 10)) {
    const item = document.createElement("li");
    item.textContent = `line ${error.line}: ${error.error}`;
    $("import-errors").appendChild(item);
  }
}

async function startExport() {
  $("export-download").hidden = true;
  try {
    const filters = { format: $("export-format").value, sort: "title" };
    const q = $("q").value.trim();
    if (q) filters.q = q;
    const job = await call("POST", "/exports", { body: JSON.stringify(filters), type: "application/json" });
    $("export-state").textContent = "queued";
    const ended = await follow(job.id, (done, total) => {
      $("export-state").textContent = `running: ${done}${total ? ` of ${total}` : ""} books`;
    });
    $("export-state").textContent = ended.state + (ended.result ? `: ${ended.result.count} books` : "");
    if (ended.state === "succeeded") {
      state.exportJob = ended.id;
      $("export-download").hidden = false;
    }
  } catch (error) {
    say(`Export failed: ${error.message}`, true);
  }
}

// The download needs the bearer token, so it is fetched here and handed over as a blob.
async function download() {
  try {
    const response = await call("GET", `/exports/${state.exportJob}/download`, { raw: true });
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="?([^";]+)"?/) || [null, "books"])[1];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  } catch (error) {
    say(`Download failed: ${error.message}`, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("search-form").addEventListener("submit", search);
  $("next-page").addEventListener("click", () => turnPage(1));
  $("previous-page").addEventListener("click", () => turnPage(-1));
  $("import-start").addEventListener("click", startImport);
  $("export-start").addEventListener("click", startExport);
  $("export-download").addEventListener("click", download);
  showBooks().catch((error) => say(error.message, true));
});
