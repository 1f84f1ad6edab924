// authd demo app: plain JavaScript against authd's API in browser mode.
//
// - Every call sends credentials: "include", so the browser attaches
//   authd's cookies (this page runs on another port of the same site).
// - Login, the MFA step and passkey sign-in send "X-Auth-Cookies: 1": the
//   tokens come back as HttpOnly cookies, never in a body this script sees.
// - State-changing calls send the CSRF token as X-CSRF-Token. The token
//   comes from the login answer (csrf_token) or GET /v1/auth/csrf, and is
//   kept in memory only.
// - Errors are RFC 9457 problems; each is shown with its stable `code`.
"use strict";

const AUTHD = String(window.AUTHD_URL || "http://localhost:8080").replace(/\/+$/, "");

let csrfToken = ""; // the double-submit token, memory only
let me = null; // the signed-in user
let mfaToken = ""; // the pending login challenge

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- the API

class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || `http_${status}`;
    this.body = body;
  }
}

// api calls authd and returns the parsed answer (null for 202/204), or
// throws a Problem. A 401 outside /v1/auth/ (an expired access cookie)
// is retried once after a refresh.
async function api(method, path, body, opts = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.cookies) headers["X-Auth-Cookies"] = "1";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res;
  try {
    res = await fetch(AUTHD + path, {
      method, headers, credentials: "include",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Problem(0, {code: "network_error",
      detail: `cannot reach authd at ${AUTHD}: is it running, with this page's origin (${location.origin}) in AUTH_CORS_ORIGINS?`});
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = {detail: text}; }
  }
  if (res.ok) return data;
  const problem = new Problem(res.status, data || {});
  const retryAfter = res.headers.get("Retry-After");
  if (retryAfter) problem.message += ` (retry in ${retryAfter} s)`;
  if (res.status === 401 && !path.startsWith("/v1/auth/") && opts.retry !== false && await refresh()) {
    return api(method, path, body, {...opts, retry: false});
  }
  throw problem;
}

async function loadCSRF() {
  csrfToken = (await api("GET", "/v1/auth/csrf")).csrf_token;
}

// refresh rotates the cookies with the refresh cookie; true if it worked.
// One at a time: two refreshes with the same cookie look like token reuse.
let refreshing = null;
function refresh() {
  refreshing ??= (async () => {
    try {
      if (!csrfToken) await loadCSRF();
      csrfToken = (await api("POST", "/v1/auth/refresh", undefined, {retry: false})).csrf_token;
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// ---------------------------------------------------------------- display

function say(id, text) {
  const el = $(id);
  el.textContent = text;
  el.dataset.code = "";
  el.classList.remove("error");
}

function fail(id, err) {
  const el = $(id);
  let code = err.code || "error";
  if (err instanceof DOMException) code = "webauthn_" + err.name; // e.g. NotAllowedError: cancelled
  let text = `${code}: ${err.message}`;
  for (const f of err.body?.errors || []) text += ` (${f.field}: ${f.message})`;
  if (code === "reauthentication_required") text += " Log out and in again, then retry.";
  el.textContent = text;
  el.dataset.code = code;
  el.classList.add("error");
}

function clearMsg(id) {
  say(id, "");
}

// onSubmit runs fn for a form, showing its failure in msgId.
function onSubmit(formId, msgId, fn) {
  $(formId).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await busy(ev.currentTarget, msgId, fn);
  });
}

function onClick(buttonId, msgId, fn) {
  $(buttonId).addEventListener("click", (ev) => busy(ev.currentTarget, msgId, fn));
}

async function busy(el, msgId, fn) {
  const buttons = el.tagName === "BUTTON" ? [el] : [...el.querySelectorAll("button")];
  buttons.forEach((b) => { b.disabled = true; });
  el.setAttribute("aria-busy", "true");
  clearMsg(msgId);
  try {
    await fn();
  } catch (e) {
    fail(msgId, e);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    el.removeAttribute("aria-busy");
  }
}

const when = (s) => (s ? new Date(s).toLocaleString() : "never");

// ---------------------------------------------------------------- views

function showSignedOut() {
  me = null;
  $("loading").hidden = true;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
}

async function showSignedIn(user) {
  renderMe(user);
  $("loading").hidden = true;
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  await Promise.all([loadSessions(), loadMFA(), loadPasskeys()]);
}

function renderMe(user) {
  me = user;
  $("me-name").textContent = user.name || "(none)";
  $("me-email").textContent = user.email;
  $("me-verified").textContent = user.email_verified ? "yes" : "no";
  $("me-mfa").textContent = user.mfa_enabled ? "on" : "off";
  $("me-role").textContent = user.role;
  $("me-id").textContent = user.id;
  $("verify-send").hidden = user.email_verified;
}

// restore shows the session the browser's cookies hold, if any.
async function restore() {
  try {
    const r = await api("GET", "/v1/users/me");
    if (!csrfToken) await loadCSRF();
    await showSignedIn(r.user);
  } catch (e) {
    showSignedOut();
    if (e.status !== 401) fail("login-msg", e);
  }
}

// signedIn takes a login's cookie-form answer.
async function signedIn(answer) {
  csrfToken = answer.csrf_token;
  endMFA();
  $("login-form").reset();
  await showSignedIn(answer.user);
}

// ---------------------------------------------------------------- sign up, log in

onSubmit("signup-form", "signup-msg", async () => {
  const r = await api("POST", "/v1/auth/register", {
    email: $("signup-email").value, password: $("signup-password").value, name: $("signup-name").value,
  });
  $("signup-form").reset();
  $("login-email").value = r.user.email;
  say("signup-msg", `Account created for ${r.user.email}. A verification link was mailed; now log in.`);
});

onSubmit("login-form", "login-msg", async () => {
  try {
    await signedIn(await api("POST", "/v1/auth/login",
      {email: $("login-email").value, password: $("login-password").value}, {cookies: true}));
  } catch (e) {
    if (e.code !== "mfa_required") throw e;
    startMFA(e.body);
  }
});

function startMFA(challenge) {
  mfaToken = challenge.mfa_token;
  const methods = challenge.methods || [];
  $("mfa-code-field").hidden = !methods.includes("totp");
  $("mfa-recovery-field").hidden = !methods.includes("recovery_code");
  $("passkey-login").hidden = !methods.includes("passkey") || !webauthn;
  $("login-form").hidden = true;
  $("mfa-step").hidden = false;
  say("login-msg", "Password accepted: now the second factor.");
  (methods.includes("totp") ? $("mfa-code") : $("mfa-submit")).focus();
}

function endMFA() {
  mfaToken = "";
  $("mfa-form").reset();
  $("mfa-step").hidden = true;
  $("login-form").hidden = false;
}

onSubmit("mfa-form", "login-msg", async () => {
  const code = $("mfa-code").value.trim();
  const recovery = $("mfa-recovery").value.trim();
  // Exactly one of code and recovery_code.
  const body = code ? {mfa_token: mfaToken, code} : {mfa_token: mfaToken, recovery_code: recovery};
  try {
    await signedIn(await api("POST", "/v1/auth/mfa/verify", body, {cookies: true}));
  } catch (e) {
    if (e.code === "invalid_mfa_token") endMFA(); // spent, expired or dead: log in again
    throw e;
  }
});

$("mfa-cancel").addEventListener("click", () => { endMFA(); clearMsg("login-msg"); });

onSubmit("forgot-form", "forgot-msg", async () => {
  const email = $("forgot-email").value;
  await api("POST", "/v1/auth/password/forgot", {email});
  say("forgot-msg", `If an account has the address ${email}, a reset link is on its way.`);
});

// ---------------------------------------------------------------- signed in

onClick("me-reload", "me-msg", async () => renderMe((await api("GET", "/v1/users/me")).user));

onClick("logout", "me-msg", async () => {
  try {
    await api("POST", "/v1/auth/logout");
  } catch (e) {
    if (e.status !== 401) throw e; // 401: the session had ended already
  }
  csrfToken = "";
  showSignedOut();
  say("login-msg", "Logged out.");
});

async function loadSessions() {
  clearMsg("sessions-msg");
  try {
    const {sessions} = await api("GET", "/v1/sessions");
    $("sessions-list").replaceChildren(...sessions.map(sessionItem));
  } catch (e) {
    fail("sessions-msg", e);
  }
}

function sessionItem(s) {
  const li = document.createElement("li");
  li.dataset.sessionId = s.id;
  li.dataset.current = String(s.current);
  const what = `${s.user_agent || "unknown client"} from ${s.ip || "?"}, since ${when(s.created_at)}, last used ${when(s.last_used_at)}`;
  li.append(document.createTextNode(what + " "));
  if (s.current) {
    const tag = document.createElement("strong");
    tag.textContent = "(this browser)";
    li.append(tag);
    return li;
  }
  const b = document.createElement("button");
  b.type = "button";
  b.className = "revoke";
  b.textContent = "Revoke";
  b.setAttribute("aria-label", `Revoke the session since ${when(s.created_at)}`);
  b.addEventListener("click", () => busy(b, "sessions-msg", async () => {
    await api("DELETE", `/v1/sessions/${encodeURIComponent(s.id)}`);
    await loadSessions();
    say("sessions-msg", "Session revoked.");
  }));
  li.append(b);
  return li;
}

onClick("sessions-reload", "sessions-msg", loadSessions);

// ---------------------------------------------------------------- email

onClick("verify-send", "verify-msg", async () => {
  await api("POST", "/v1/auth/verify-email/send", {email: me.email});
  say("verify-msg", `A verification link is on its way to ${me.email} (at most one a minute).`);
});

onSubmit("email-form", "email-msg", async () => {
  const email = $("email-new").value;
  await api("POST", "/v1/users/me/email", {email, password: $("email-password").value});
  $("email-form").reset();
  say("email-msg", `A confirmation link went to ${email}; the address changes when it is opened.`);
});

// The pages of authd's mails: take the token out of the address bar (so it
// stays out of history and Referer), then post it.
async function handleLink() {
  const page = location.pathname.split("/").pop();
  const titles = {
    "verify-email": "Verify your email",
    "reset-password": "Choose a new password",
    "confirm-email-change": "Confirm your new email",
  };
  if (!titles[page]) return;
  const token = new URLSearchParams(location.search).get("token") || "";
  history.replaceState(null, "", new URL(".", location.href).pathname);
  $("link-title").textContent = titles[page];
  $("link-page").hidden = false;
  if (!token) {
    fail("link-msg", new Problem(400, {code: "invalid_email_token", detail: "the link has no token"}));
    return;
  }
  try {
    if (page === "verify-email") {
      const r = await api("POST", "/v1/auth/verify-email", {token});
      say("link-msg", `${r.user.email} is verified.`);
    } else if (page === "confirm-email-change") {
      const r = await api("POST", "/v1/auth/email-change/confirm", {token});
      say("link-msg", `Your email is now ${r.user.email}.`);
    } else {
      $("reset-form").hidden = false;
      onSubmit("reset-form", "link-msg", async () => {
        await api("POST", "/v1/auth/password/reset", {token, password: $("reset-new-password").value});
        $("reset-form").hidden = true;
        say("link-msg", "Password changed. Every session has ended: log in with the new password.");
        csrfToken = "";
        await restore();
      });
    }
  } catch (e) {
    fail("link-msg", e);
    if (e.code === "invalid_email_token") $("link-msg").textContent += " Ask for a new link.";
  }
}

// ---------------------------------------------------------------- two-factor

async function loadMFA() {
  try {
    const st = await api("GET", "/v1/users/me/mfa");
    $("mfa-state").textContent = `Authenticator app: ${st.totp}; recovery codes left: ${st.recovery_codes_left}.`;
    $("mfa-state").dataset.totp = st.totp;
    $("totp-enrol-form").hidden = st.totp === "on";
    $("totp-disable-form").hidden = st.totp !== "on";
    if (st.totp !== "pending") $("totp-setup").hidden = true;
  } catch (e) {
    fail("totp-msg", e);
  }
}

onSubmit("totp-enrol-form", "totp-msg", async () => {
  const e = await api("POST", "/v1/users/me/mfa/totp", {password: $("totp-password").value});
  $("totp-enrol-form").reset();
  $("totp-secret").textContent = e.secret;
  $("totp-uri").href = e.otpauth_uri;
  $("totp-uri").textContent = e.otpauth_uri;
  $("recovery-box").hidden = true;
  $("totp-setup").hidden = false;
  $("totp-confirm-code").focus();
});

onSubmit("totp-confirm-form", "totp-msg", async () => {
  const r = await api("POST", "/v1/users/me/mfa/totp/confirm", {code: $("totp-confirm-code").value.trim()});
  $("totp-confirm-form").reset();
  $("totp-setup").hidden = true;
  $("recovery-codes").replaceChildren(...r.recovery_codes.map((c) => {
    const li = document.createElement("li");
    li.textContent = c;
    return li;
  }));
  $("recovery-box").hidden = false;
  say("totp-msg", "Two-factor is on: logins now ask for a code.");
  await refreshMe();
});

onSubmit("totp-disable-form", "totp-msg", async () => {
  await api("POST", "/v1/users/me/mfa/totp/disable",
    {password: $("totp-disable-password").value, code: $("totp-disable-code").value.trim()});
  $("totp-disable-form").reset();
  $("recovery-box").hidden = true;
  say("totp-msg", "Two-factor is off.");
  await refreshMe();
});

async function refreshMe() {
  renderMe((await api("GET", "/v1/users/me")).user);
  await loadMFA();
}

// ---------------------------------------------------------------- passkeys
//
// WebAuthn needs a secure context (https, or http://localhost). authd
// sends the options as JSON (base64url for the binary fields) under
// options.publicKey; the answer goes back as credential.toJSON().

const webauthn = window.isSecureContext && "PublicKeyCredential" in window;

function b64urlDecode(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
}

function b64urlEncode(buf) {
  let s = "";
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const decodeIds = (list) => list?.map((c) => ({...c, id: b64urlDecode(c.id)}));

function creationOptions(pk) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(pk);
  return {...pk, challenge: b64urlDecode(pk.challenge), user: {...pk.user, id: b64urlDecode(pk.user.id)},
    excludeCredentials: decodeIds(pk.excludeCredentials) ?? undefined};
}

function requestOptions(pk) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(pk);
  return {...pk, challenge: b64urlDecode(pk.challenge), allowCredentials: decodeIds(pk.allowCredentials) ?? undefined};
}

function credentialJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const r = cred.response;
  const response = {clientDataJSON: b64urlEncode(r.clientDataJSON)};
  if (r.attestationObject) {
    response.attestationObject = b64urlEncode(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = b64urlEncode(r.authenticatorData);
    response.signature = b64urlEncode(r.signature);
    if (r.userHandle) response.userHandle = b64urlEncode(r.userHandle);
  }
  return {id: cred.id, rawId: b64urlEncode(cred.rawId), type: cred.type, response,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    clientExtensionResults: cred.getClientExtensionResults()};
}

// passkeySignIn: usernameless (no mfa_token), or the second step of a
// password login (with its challenge's mfa_token).
async function passkeySignIn(challenge) {
  const begin = await api("POST", "/v1/auth/passkey/begin", challenge ? {mfa_token: challenge} : {});
  const cred = await navigator.credentials.get({...begin.options, publicKey: requestOptions(begin.options.publicKey)});
  await signedIn(await api("POST", "/v1/auth/passkey/finish",
    {ceremony: begin.ceremony, credential: credentialJSON(cred)}, {cookies: true}));
}

onClick("passkey-signin", "login-msg", () => passkeySignIn());
onClick("passkey-login", "login-msg", () => passkeySignIn(mfaToken));

async function loadPasskeys() {
  clearMsg("passkeys-msg");
  $("passkey-add-form").hidden = !webauthn;
  try {
    const {passkeys} = await api("GET", "/v1/users/me/passkeys");
    $("passkeys-list").replaceChildren(...passkeys.map(passkeyItem));
    if (!passkeys.length) say("passkeys-msg", "No passkey yet.");
  } catch (e) {
    fail("passkeys-msg", e);
  }
  if (!webauthn) $("passkeys-msg").textContent += " This browser cannot use passkeys here (WebAuthn needs https or localhost).";
}

function passkeyItem(p) {
  const li = document.createElement("li");
  li.dataset.passkeyId = p.id;
  li.append(document.createTextNode(`${p.name}: added ${when(p.created_at)}, last used ${when(p.last_used_at)} `));
  const b = document.createElement("button");
  b.type = "button";
  b.className = "delete-passkey";
  b.textContent = "Delete";
  b.setAttribute("aria-label", `Delete the passkey ${p.name}`);
  b.addEventListener("click", () => busy(b, "passkeys-msg", async () => {
    await api("DELETE", `/v1/users/me/passkeys/${encodeURIComponent(p.id)}`);
    await loadPasskeys();
    say("passkeys-msg", `Passkey ${p.name} deleted.`);
  }));
  li.append(b);
  return li;
}

onSubmit("passkey-add-form", "passkeys-msg", async () => {
  const name = $("passkey-name").value.trim() || "passkey";
  const begin = await api("POST", "/v1/users/me/passkeys/register/begin", {});
  const cred = await navigator.credentials.create({...begin.options, publicKey: creationOptions(begin.options.publicKey)});
  await api("POST", "/v1/users/me/passkeys/register/finish", {ceremony: begin.ceremony, credential: credentialJSON(cred), name});
  $("passkey-add-form").reset();
  await loadPasskeys();
  say("passkeys-msg", `Passkey ${name} added.`);
});

// ---------------------------------------------------------------- start

async function start() {
  $("authd-url").textContent = AUTHD;
  $("passkey-signin").hidden = !webauthn;
  await handleLink();
  await restore();
  document.body.dataset.ready = "true"; // for tests: the first render is done
}

start();
