// Shared by /admin and /dashboard: texts, DOM building (text only, never HTML), the API client
// with the signed-in key, sign in / sign out.

const TEXTS = JSON.parse(document.body.dataset.i18n || "{}");
export const LANG = document.body.dataset.lang || "vi";
const LOCALE = LANG === "vi" ? "vi-VN" : "en-GB";
const KEY_ITEM = "pollsvc.apiKey";
const ROLE_ITEM = "pollsvc.role";

/** The text for `key` in the page's language, with `{name}` placeholders filled in. */
export function t(key, vars = {}) {
  let text = TEXTS[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** `url` with the page's language kept (Vietnamese, the default, needs no parameter). */
export function withLang(url) {
  if (LANG === "vi") return url;
  return url + (url.includes("?") ? "&" : "?") + "lang=" + LANG;
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.setAttribute("class", value);
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const dateTime = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" });
const shortDateTime = new Intl.DateTimeFormat(LOCALE, { dateStyle: "short", timeStyle: "short" });
const number = new Intl.NumberFormat(LOCALE);
const percent = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : t("none"));
export const formatShortDateTime = (iso) => (iso ? shortDateTime.format(new Date(iso)) : t("none"));
export const formatNumber = (n) => number.format(n);
export const formatPercent = (p) => percent.format(p) + " %";

/** An engagement rate: "12,3 %", or a dash that says "no views yet" to a screen reader. */
export function formatRate(value) {
  if (value !== undefined && value !== null) return formatPercent(value);
  return [h("span", { "aria-hidden": "true" }, t("none")), h("span", { class: "visually-hidden" }, t("no_views"))];
}
export const statusText = (status) => t("status_" + status);

/** A status badge: the text says it, the colour only helps. */
export function statusBadge(status) {
  return h("span", { class: `badge badge-${status}`, text: statusText(status) });
}

// ---- API ----

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error || (status === 0 ? "network" : "unknown");
    this.errors = body?.errors || {};
  }
}

export const storedKey = () => sessionStorage.getItem(KEY_ITEM);
export const storedRole = () => sessionStorage.getItem(ROLE_ITEM);

let onUnauthorized = () => {};

/** A call to /api/v1 with the key. Resolves to the JSON body (null for 204), or the Response when `raw`. */
export async function api(path, { method = "GET", body, key = storedKey(), raw = false } = {}) {
  const headers = { Authorization: `Bearer ${key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch("/api/v1" + path, {
      method, headers, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (response.ok && raw) return response;
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && key === storedKey()) onUnauthorized(error);
    throw error;
  }
  return data;
}

/** A message for the user about a failed call. */
export function errorText(error) {
  switch (error.status) {
    case 0: return t("err_network");
    case 401: return t("err_bad_key");
    case 403: return t("err_forbidden");
    case 404: return t("err_not_found");
    case 429: return t("err_rate");
    default:
      if (error.code === "poll_has_votes") return t("err_has_votes");
      return t("err_generic", { message: error.message });
  }
}

/** Checks a key, finds its role (the audit log is for admins only), and keeps it for this tab. */
async function verify(key) {
  await api("/polls?per_page=1", { key });
  let role = "admin";
  try {
    await api("/audit?per_page=1", { key });
  } catch (error) {
    if (error.status !== 403) throw error;
    role = "reporter";
  }
  sessionStorage.setItem(KEY_ITEM, key);
  sessionStorage.setItem(ROLE_ITEM, role);
  return role;
}

function forget() {
  sessionStorage.removeItem(KEY_ITEM);
  sessionStorage.removeItem(ROLE_ITEM);
}

let statusTimer;
/** A short polite message in the page's status line. */
export function announce(message) {
  const status = $("#status");
  status.textContent = message;
  status.classList.add("shown");
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { status.classList.remove("shown"); status.textContent = ""; }, 5000);
}

/**
 * Wires the sign-in form and the sign-out button. `start(role)` runs once signed in;
 * `stop()` when signing out (or when the key stops working).
 */
export function setupSession({ start, stop = () => {} }) {
  const form = $("#sign-in-form");
  const input = $("#api-key");
  const error = $("#sign-in-error");
  const signOut = $("#sign-out");
  const whoami = $("#whoami");

  function showSignIn(message = "") {
    stop();
    $("#app").hidden = true;
    $("#sign-in").hidden = false;
    signOut.hidden = true;
    whoami.hidden = true;
    error.textContent = message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
    input.focus();
  }

  function showApp(role) {
    document.body.dataset.role = role;
    $("#sign-in").hidden = true;
    $("#app").hidden = false;
    whoami.textContent = t("role_" + role);
    whoami.hidden = false;
    signOut.hidden = false;
    error.textContent = "";
    start(role);
  }

  onUnauthorized = () => { forget(); showSignIn(t("err_bad_key")); };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) { showSignIn(t("err_bad_key")); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const role = await verify(key);
      input.value = "";
      showApp(role);
    } catch (failure) {
      showSignIn(errorText(failure));
    } finally {
      button.disabled = false;
    }
  });

  signOut.addEventListener("click", () => { forget(); showSignIn(); });

  const key = storedKey();
  if (!key) { showSignIn(); return; }
  verify(key).then(showApp, (failure) => {
    if (failure.status === 401) forget();
    showSignIn(errorText(failure));
  });
}

/** ISO timestamp (UTC) of a `datetime-local` or `date` input value, read as local time; null when empty. */
export function localToIso(value, { endOfDay = false } = {}) {
  if (!value) return null;
  const text = value.length === 10 ? value + (endOfDay ? "T23:59:59.999" : "T00:00") : value;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A `datetime-local` value (local time, minutes) for an ISO timestamp. */
export function isoToLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Previous / next buttons and "page x of y". */
export function renderPager(data, goTo) {
  const pages = Math.max(1, Math.ceil(data.total / data.per_page));
  $("#page-info").textContent = t("page_info", { page: data.page, pages, total: formatNumber(data.total) });
  const prev = $("#page-prev");
  const next = $("#page-next");
  prev.disabled = data.page <= 1;
  next.disabled = data.page >= pages;
  prev.onclick = () => goTo(data.page - 1);
  next.onclick = () => goTo(data.page + 1);
}
