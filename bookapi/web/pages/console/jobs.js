// Imports and exports as a list of the user's jobs, newest first. Every unfinished job
// follows its own websocket and paints only its own row, so several run side by side.
"use strict";

import { API, accessToken, call, currentSession, refresh } from "./api.js";
import { currentFilters } from "./catalog.js";
import { $, busy, h, tell, warn, when } from "./ui.js";

const TERMINAL = new Set(["succeeded", "failed"]);
const NAMES_KEY = "bookapi.jobNames";  // the file each import came from, for its heading
const rows = new Map();  // job id -> { job, element, parts, socket, ended }
let olderCursor = null;

function fileNames() {
  try {
    return JSON.parse(sessionStorage.getItem(NAMES_KEY)) || {};
  } catch (ignored) {
    return {};
  }
}

function rememberName(id, name) {
  sessionStorage.setItem(NAMES_KEY, JSON.stringify({ ...fileNames(), [id]: name }));
}

function heading(job) {
  const what = job.kind === "import" ? "Import" : "Export";
  const name = fileNames()[job.id];
  return `${what}${name ? ` of ${name}` : ""} · ${when(job.created_at)}`;
}

function stateText(job) {
  const { done, total } = job.progress;
  const unit = job.kind === "import" ? "rows" : "books";
  switch (job.state) {
    case "queued": return "Waiting for a worker…";
    case "running": return `Running: ${done.toLocaleString()}${total ? ` of ${total.toLocaleString()}` : ""} ${unit}`;
    case "succeeded": return "Succeeded";
    default: return `Failed: ${job.error || "the job did not finish"}`;
  }
}

function count(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, String(value)));
}

function importResult(job, titleId) {
  const result = job.result;
  const parts = [h("dl", { "aria-label": "Result" },
    count("inserted", result.inserted), count("updated", result.updated),
    count("skipped", result.skipped), count("failed", result.failed))];
  if (result.errors.length) {
    parts.push(h("details", {},
      h("summary", {}, `${result.errors.length} row error${result.errors.length === 1 ? "" : "s"}`),
      h("ul", { "aria-labelledby": titleId },
        result.errors.slice(0, 200).map((e) => h("li", {}, `line ${e.line}: ${e.error}`)))));
  }
  return parts;
}

function exportResult(job) {
  return [
    h("p", {}, `${job.result.count ?? 0} books exported.`),
    h("button", { type: "button", class: "quiet", onclick: (event) => download(job, event.currentTarget) },
      "Download the file"),
  ];
}

function createRow(job) {
  const titleId = `job-${job.id}-title`;
  const parts = {
    title: h("h3", { id: titleId }),
    state: h("p", { class: "state" }),
    progress: h("progress", { "aria-labelledby": titleId, max: "1" }),
    result: h("div", { class: "result" }),
  };
  const element = h("li", { class: "job", "data-job": job.id, "aria-labelledby": titleId },
    parts.title, parts.state, parts.progress, parts.result);
  return { job, element, parts, socket: null, ended: false, retries: 0 };
}

function paint(row) {
  const { job, parts } = row;
  parts.title.textContent = heading(job);
  parts.state.textContent = stateText(job);
  parts.state.className = `state state-${job.state}`;
  const { done, total } = job.progress;
  if (total || TERMINAL.has(job.state)) {
    parts.progress.max = total || Math.max(done, 1);
    parts.progress.value = TERMINAL.has(job.state) && !total ? parts.progress.max : done;
  } else {
    parts.progress.removeAttribute("value");  // indeterminate: the size is not known yet
  }
  parts.progress.hidden = job.state === "failed";
  if (TERMINAL.has(job.state) && !parts.result.hasChildNodes() && job.result) {
    const titleId = parts.title.id;
    parts.result.replaceChildren(...(job.kind === "import" ? importResult(job, titleId) : exportResult(job)));
  }
}

function upsert(job) {
  let row = rows.get(job.id);
  if (!row) {
    row = createRow(job);
    rows.set(job.id, row);
  }
  row.job = job;
  paint(row);
  if (TERMINAL.has(job.state)) row.ended = true;
  else if (!row.socket) follow(row);
  return row;
}

// One websocket per unfinished job: a snapshot first, then progress, then `finished`. A
// server going away (1001) or a dropped connection is reconnected for a fresh snapshot;
// a refused token (1008) is refreshed once first.
function follow(row) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${API}/jobs/${row.job.id}/events`);
  row.socket = socket;
  socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", token: accessToken() })));
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    row.retries = 0;
    if (event.type === "progress") {
      row.job = { ...row.job, state: event.state, progress: { done: event.done, total: event.total } };
      paint(row);
    } else if (event.job) {
      row.job = event.job;
      paint(row);
      if (event.type === "finished" || TERMINAL.has(event.job.state)) row.ended = true;
    }
  });
  socket.addEventListener("close", async (close) => {
    row.socket = null;
    if (row.ended || !currentSession()) return;
    row.retries += 1;
    if (close.code === 1008 && (row.retries > 2 || !(await refresh()))) {
      row.parts.state.textContent = "Live progress was refused: sign in again to follow this job.";
      return;
    }
    setTimeout(() => { if (!row.ended && !row.socket) follow(row); }, Math.min(1000 * row.retries, 10_000));
  });
}

function show(items, append) {
  const elements = items.map((job) => upsert(job).element);
  if (append) $("jobs").append(...elements);
  else $("jobs").replaceChildren(...elements);
  $("jobs-empty").hidden = $("jobs").children.length > 0;
}

export async function showJobs() {
  describeExportScope();
  try {
    const page = await call("GET", "/jobs?limit=20");
    show(page.items, false);
    olderCursor = page.next_cursor;
    $("jobs-more").hidden = !olderCursor;
  } catch (error) {
    warn(error);
  }
}

async function showOlder(button) {
  await busy(button, async () => {
    const page = await call("GET", `/jobs?limit=20&cursor=${encodeURIComponent(olderCursor)}`);
    show(page.items, true);
    olderCursor = page.next_cursor;
  });
  $("jobs-more").hidden = !olderCursor;
}

/** Close every job's websocket (on sign-out); the rows are forgotten too. */
export function stopFollowing() {
  for (const row of rows.values()) {
    row.ended = true;
    if (row.socket) row.socket.close(1000);
  }
  rows.clear();
  $("jobs").replaceChildren();
}

function fileType(name) {
  return /\.csv$/i.test(name) ? "text/csv" : "application/x-ndjson";
}

async function startImport(event) {
  event.preventDefault();
  const file = $("import-file").files[0];
  if (!file) return;
  await busy($("import-start"), async () => {
    const conflict = $("on-conflict").value;
    const job = await call("POST", `/imports?on_conflict=${conflict}`, {
      body: file, headers: { "Content-Type": fileType(file.name) },
    });
    rememberName(job.id, file.name);
    $("import-form").reset();
    $("jobs").prepend(upsert(job).element);
    $("jobs-empty").hidden = true;
    tell(`The import of ${file.name} was queued.`);
  });
  // A new file must be chosen before the next import (the reset cleared this one).
  $("import-start").disabled = !$("import-file").files.length;
}

function exportFilters() {
  const filters = currentFilters();
  for (const name of ["year_min", "year_max"]) {
    if (filters[name] !== undefined) filters[name] = Number(filters[name]);
  }
  return filters;
}

function describeExportScope() {
  const filters = currentFilters();
  delete filters.sort;
  const words = Object.entries(filters).map(([name, value]) => `${name.replace("_", " ")} “${value}”`);
  $("export-filtered").disabled = words.length === 0;
  if (!words.length) $("export-filtered").checked = false;
  $("export-scope").textContent = words.length
    ? `The catalog's current search: ${words.join(", ")}.`
    : "Every book in the catalog (search the catalog first to export fewer).";
}

async function startExport(event) {
  event.preventDefault();
  await busy($("export-start"), async () => {
    const body = { format: $("export-format").value };
    Object.assign(body, $("export-filtered").checked ? exportFilters() : {});
    const job = await call("POST", "/exports", { json: body });
    $("jobs").prepend(upsert(job).element);
    $("jobs-empty").hidden = true;
    tell("The export was queued.");
  });
}

// The download needs the bearer token, so it is fetched here and handed over as a blob.
async function download(job, button) {
  await busy(button, async () => {
    const response = await call("GET", `/exports/${job.id}/download`, { raw: true });
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="?([^";]+)"?/) || [null, "books"])[1];
    const link = h("a", { href: URL.createObjectURL(await response.blob()), download: name });
    document.body.append(link);
    link.click();
    link.remove();
  });
}

export function wireJobs() {
  $("import-file").addEventListener("change", () => {
    $("import-start").disabled = !$("import-file").files.length;
  });
  $("import-form").addEventListener("submit", startImport);
  $("export-form").addEventListener("submit", startExport);
  $("jobs-more").addEventListener("click", (event) => showOlder(event.currentTarget));
}
