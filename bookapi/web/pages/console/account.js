// Signing in and out, registering, the account page (change password), and the password
// reset: asking for a link, and choosing a new password from the link's token.
"use strict";

import { call, currentSession, forgetSession, signOut, startSession } from "./api.js";
import { stopFollowing } from "./jobs.js";
import { $, busy, fields, h, tell, warn, when } from "./ui.js";

const reset = { token: null };
let afterSignIn = "#/books";

/** Where to go once signed in (the view that asked for a session). */
export function returnAfterSignIn(hash) {
  afterSignIn = hash;
}

/** A reset token from the mailed link (`#reset=<token>`), kept in memory only. */
export function holdResetToken(token) {
  reset.token = token;
}

async function signIn(event) {
  event.preventDefault();
  const values = fields($("sign-in-form"));
  await busy($("sign-in"), async () => {
    const pair = await call("POST", "/auth/login", {
      anonymous: true, json: { email: values.email || "", password: $("password").value },
    });
    $("sign-in-form").reset();
    const user = await startSession(pair);
    tell(`Signed in as ${user.email}.`);
    location.hash = afterSignIn;
    afterSignIn = "#/books";
  });
}

async function register(event) {
  event.preventDefault();
  const values = fields($("register-form"));
  const account = { email: values.email || "", password: $("register-password").value };
  if (values.display_name) account.display_name = values.display_name;
  await busy($("register"), async () => {
    await call("POST", "/auth/register", { anonymous: true, json: account });
    const pair = await call("POST", "/auth/login", {
      anonymous: true, json: { email: account.email, password: account.password },
    });
    $("register-form").reset();
    const user = await startSession(pair);
    tell(`Welcome, ${user.display_name || user.email}: your account is ready.`);
    location.hash = "#/books";
  });
}

export async function endSession(message) {
  stopFollowing();
  await signOut();
  tell(message || "Signed out.");
  location.hash = "#/sign-in";
}

function field(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

export function showAccount() {
  const user = currentSession().user;
  $("account-fields").replaceChildren(
    ...field("Email", user.email), ...field("Name", user.display_name || "–"),
    ...field("Role", user.role), ...field("Member since", when(user.created_at)));
}

function samePasswords(first, second) {
  if ($(first).value === $(second).value) return true;
  warn("The two new passwords differ: type the same one twice.");
  $(second).focus();
  return false;
}

async function changePassword(event) {
  event.preventDefault();
  if (!samePasswords("new-password", "new-password-again")) return;
  await busy($("password-change"), async () => {
    await call("POST", "/auth/password", {
      json: { current_password: $("current-password").value, new_password: $("new-password").value },
    });
    $("password-form").reset();
    // Every token of the account has just ended, these too: nothing to revoke.
    stopFollowing();
    forgetSession();
    tell("Your password was changed and you were signed out everywhere. Sign in with the new password.");
    location.hash = "#/sign-in";
  });
}

async function askForLink(event) {
  event.preventDefault();
  const email = fields($("forgot-form")).email || "";
  await busy($("forgot-send"), async () => {
    await call("POST", "/auth/password-reset", { anonymous: true, json: { email } });
    $("forgot-form").reset();
    tell(`If ${email} has an account, a link to reset its password is on its way. It works once, for 30 minutes.`);
  });
}

async function setNewPassword(event) {
  event.preventDefault();
  if (!reset.token) {
    warn("This page needs the link from the reset email: ask for a new one.");
    return;
  }
  if (!samePasswords("reset-password", "reset-password-again")) return;
  await busy($("reset-save"), async () => {
    await call("POST", "/auth/password-reset/confirm", {
      anonymous: true, json: { token: reset.token, new_password: $("reset-password").value },
    });
    reset.token = null;
    $("reset-form").reset();
    if (currentSession()) {
      stopFollowing();
      forgetSession();
    }
    tell("Your new password is set. Sign in with it.");
    location.hash = "#/sign-in";
  });
}

export function wireAccount() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("register-form").addEventListener("submit", register);
  $("sign-out").addEventListener("click", () => endSession());
  $("password-form").addEventListener("submit", changePassword);
  $("forgot-form").addEventListener("submit", askForLink);
  $("reset-form").addEventListener("submit", setNewPassword);
}
