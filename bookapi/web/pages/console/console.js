// The bookapi console: plain JavaScript modules on the public API, no build step, no CDN.
// This module routes `#/...` addresses to views and keeps the page in step with the session.
"use strict";

import { currentSession, onSessionChange, onSessionEnded } from "./api.js";
import { holdResetToken, returnAfterSignIn, showAccount, wireAccount } from "./account.js";
import { showBook, showCatalog, showEditor, wireCatalog } from "./catalog.js";
import { showJobs, stopFollowing, wireJobs } from "./jobs.js";
import { $, quietUnlessNew, warn } from "./ui.js";
import { showUsers, wireUsers } from "./users.js";

// [pattern, view, title, who may see it, what to load]
const ROUTES = [
  [/^#?\/?(books)?$/, "books", "Catalog", "anyone", () => showCatalog()],
  [/^#\/books\/new$/, "edit", "New book", "session", () => showEditor(null)],
  [/^#\/books\/([0-9a-f]{24})\/edit$/, "edit", "Edit book", "session", (id) => showEditor(id)],
  [/^#\/books\/([^/]+)$/, "book", "Book", "anyone", (id) => showBook(id)],
  [/^#\/jobs$/, "jobs", "Imports and exports", "session", () => showJobs()],
  [/^#\/users$/, "users", "Users", "admin", () => showUsers()],
  [/^#\/account$/, "account", "Account", "session", () => showAccount()],
  [/^#\/sign-in$/, "sign-in", "Sign in", "guest", () => {}],
  [/^#\/register$/, "register", "Create an account", "guest", () => {}],
  [/^#\/forgot$/, "forgot", "Reset your password", "anyone", () => {}],
  [/^#\/reset$/, "reset", "Choose a new password", "anyone", () => {}],
];

function allowed(who, session) {
  if (who === "session") return Boolean(session);
  if (who === "admin") return Boolean(session && session.user && session.user.role === "admin");
  return true;
}

function showView(name, title) {
  for (const section of document.querySelectorAll("[data-view]")) {
    section.hidden = section.dataset.view !== name;
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${title} · bookapi`;
}

function route(firstLoad = false) {
  const hash = location.hash;
  const resetLink = hash.match(/^#reset=([\w-]+)$/);
  if (resetLink) {
    // The token leaves the address bar and the history at once: it is a secret.
    holdResetToken(resetLink[1]);
    history.replaceState(null, "", "#/reset");
    return route(firstLoad);
  }
  quietUnlessNew();
  const session = currentSession();
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) {
    showView("missing", "Not here");
    return;
  }
  const [pattern, view, title, who, load] = found;
  if (!allowed(who, session)) {
    if (who === "admin" && session) {
      warn("Only admins can see the users page.");
      location.hash = "#/books";
    } else {
      returnAfterSignIn(hash);
      location.hash = "#/sign-in";
    }
    return;
  }
  if (who === "guest" && session) {
    location.hash = "#/books";
    return;
  }
  showView(view, title);
  load(...hash.match(pattern).slice(1));
  if (!firstLoad) {
    // A new view starts at its top, and a screen reader starts reading it there.
    window.scrollTo(0, 0);
    $("main").focus({ preventScroll: true });
  }
}

function showSession(session) {
  const admin = Boolean(session && session.user && session.user.role === "admin");
  for (const element of document.querySelectorAll("[data-needs]")) {
    const needs = element.dataset.needs;
    element.hidden = needs === "guest" ? Boolean(session) : needs === "admin" ? !admin : !session;
  }
  $("who").textContent = session && session.user ? `Signed in as ${session.user.email}` : "";
}

document.addEventListener("DOMContentLoaded", () => {
  wireCatalog();
  wireJobs();
  wireAccount();
  wireUsers();
  onSessionChange(showSession);
  onSessionEnded((reason) => {
    stopFollowing();
    warn(reason);
    returnAfterSignIn(location.hash);
    location.hash = "#/sign-in";
  });
  showSession(currentSession());
  window.addEventListener("hashchange", () => route());
  route(true);
});
