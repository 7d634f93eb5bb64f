// Talking to the API: one `call` for every request, the session (tokens in sessionStorage,
// so a reload keeps it within the tab and closing the tab ends it), the access token
// refreshed before it expires, and every problem turned into a sentence a person can act on.
"use strict";

export const API = "/api/v1";
const SESSION_KEY = "bookapi.session";
// Refresh this long before the access token expires (or at 80% of a short lifetime).
const REFRESH_MARGIN_MS = 60_000;

let session = load();
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch (ignored) {
    return null;  // a damaged entry is no session
  }
}

function store() {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
  listeners.forEach((listener) => listener(session));
}

/** Call `listener(session)` whenever the session starts, changes or ends. */
export function onSessionChange(listener) {
  listeners.add(listener);
}

export function currentSession() {
  return session;
}

export function accessToken() {
  return session ? session.access : null;
}

/** A refusal of the API (a problem document), or of the network (status 0). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.detail || problem.title || "The request failed.");
    this.status = status;
    this.title = problem.title || "";
    this.detail = problem.detail || "";
    this.type = problem.type || "";
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = retryAfter;
  }
}

const FIELD_NAMES = {
  isbn: "ISBN", published_year: "year", year_min: "from year", year_max: "to year",
  current_password: "current password", new_password: "new password", display_name: "name",
};

function fieldName(loc) {
  const name = String(loc[loc.length - 1] ?? "");
  return FIELD_NAMES[name] || name.replaceAll("_", " ");
}

function seconds(retryAfter) {
  const wait = Number.parseInt(retryAfter, 10);
  return Number.isFinite(wait) && wait > 0 ? wait : null;
}

/** What went wrong, in words: never a bare status line. */
export function describe(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the console: ${error.message}`;
  const wait = seconds(error.retryAfter);
  switch (error.status) {
    case 0:
      return "The server cannot be reached. Check your connection, then try again.";
    case 400:
      if (error.errors.length) {
        const fields = error.errors.slice(0, 5).map((e) => `${fieldName(e.loc || [])}: ${e.msg}`);
        return `Please check the form. ${fields.join("; ")}.`;
      }
      return error.detail || "The request was not valid.";
    case 401:
      return error.detail || "Please sign in.";
    case 412:
      return "This book was changed by someone else since you opened it. Reload it to see the changes, then edit again.";
    case 413:
      return `That is too large. ${error.detail}`;
    case 429:
      return `Too many attempts. Try again in ${wait ? `${wait} seconds` : "a little while"}.`;
    case 503:
      return `The service is briefly unavailable (${error.detail || error.title}). Try again in ${wait || "a few"} seconds.`;
    default:
      return error.detail ? `${error.detail}` : `${error.title || "The request failed"}.`;
  }
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch (ignored) {
    return { title: response.statusText };  // not a problem document (a proxy's page)
  }
}

async function send(method, path, options, token) {
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  try {
    return await fetch(API + path, { method, headers, body, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, { detail: error.message });
  }
}

/**
 * One request. `options`: `json` (a body to send as JSON), `body` and `headers` (anything
 * else), `raw` (return the Response), `anonymous` (no token), `etag` (answer with it).
 * With a session, the token rides along and an expired one is refreshed once.
 */
export async function call(method, path, options = {}) {
  let token = options.anonymous ? null : await freshAccessToken();
  let response = await send(method, path, options, token);
  if (response.status === 401 && token && session) {
    token = await refresh();
    if (token) response = await send(method, path, options, token);
  }
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401 && token) endSession("Your session has ended: please sign in again.");
    throw new ApiError(response.status, problem, response.headers.get("Retry-After"));
  }
  if (options.raw) return response;
  // No content (204, and the 202 of a reset request) is null; anything else is JSON.
  const type = response.headers.get("Content-Type") || "";
  const data = response.status !== 204 && type.includes("json") ? await response.json() : null;
  return options.etag ? { data, etag: response.headers.get("ETag") } : data;
}

async function freshAccessToken() {
  if (!session) return null;
  if (Date.now() >= session.expiresAt - 5_000) return refresh();
  return session.access;
}

/** Start a session from a login's token pair (the user is read once). */
export async function startSession(pair) {
  adopt(pair, null);
  try {
    session.user = await call("GET", "/auth/me");
  } catch (error) {
    session = null;
    store();
    throw error;
  }
  store();
  return session.user;
}

function adopt(pair, user) {
  session = {
    access: pair.access_token,
    refresh: pair.refresh_token,
    expiresAt: Date.now() + pair.expires_in * 1000,
    user: user || (session ? session.user : null),
  };
  store();
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const left = session.expiresAt - Date.now();
  const delay = Math.max(1_000, Math.min(left - REFRESH_MARGIN_MS, left * 0.8));
  refreshTimer = setTimeout(() => refresh().catch(() => {}), delay);
}

/** Trade the refresh token for a new pair (once at a time); the new access token, or null
 *  if the session is over. */
export function refresh() {
  if (!session) return Promise.resolve(null);
  if (!refreshing) {
    const used = session.refresh;
    refreshing = (async () => {
      const response = await send("POST", "/auth/refresh", {}, used);
      if (response.ok) {
        adopt(await response.json(), null);
        return session.access;
      }
      if (response.status === 401) {
        endSession("Your session has ended: please sign in again.");
        return null;
      }
      throw new ApiError(response.status, await problemOf(response), response.headers.get("Retry-After"));
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

let onEnded = () => {};

/** What to do when the session ends by itself (a revoked or expired token). */
export function onSessionEnded(handler) {
  onEnded = handler;
}

function endSession(reason) {
  if (!session) return;
  session = null;
  clearTimeout(refreshTimer);
  store();
  onEnded(reason);
}

/** Sign out: both tokens are revoked at the server, then forgotten here. */
export async function signOut() {
  if (session) {
    const tokens = { refresh_token: session.refresh };
    try {
      await send("POST", "/auth/logout", { json: tokens }, session.access);
    } catch (ignored) {
      // Offline: the tokens are forgotten here anyway and expire at the server.
    }
  }
  session = null;
  clearTimeout(refreshTimer);
  store();
}

/** Forget the session without telling the server (its tokens were ended already). */
export function forgetSession() {
  session = null;
  clearTimeout(refreshTimer);
  store();
}

if (session) scheduleRefresh();
