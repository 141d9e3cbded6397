// /admin: the poll list, the poll form, close / reopen / archive, embed codes and the audit log.

import {
  $, announce, api, errorText, formatDateTime, formatNumber, formatRate, formatShortDateTime, h, renderPager, setupSession, statusBadge, t,
  withLang,
} from "./common.js";
import { PollForm } from "./poll-form.js";

const PER_PAGE = 20;
const state = { role: "reporter", page: 1, filters: {}, polls: new Map() };
const isAdmin = () => state.role === "admin";

const form = new PollForm({
  onSaved: (_poll, message) => { closeEditor(); announce(message); refresh(); },
  onCancel: () => closeEditor(),
});

// ---- list ----

async function loadPolls(page = state.page) {
  const query = new URLSearchParams({ page, per_page: PER_PAGE });
  for (const [name, value] of Object.entries(state.filters)) if (value) query.set(name, value);
  const error = $("#filter-error");
  try {
    const data = await api(`/polls?${query}`);
    error.textContent = "";
    if (data.items.length === 0 && page > 1) return loadPolls(page - 1);
    state.page = data.page;
    state.polls = new Map(data.items.map((poll) => [poll.id, poll]));
    $("#poll-rows").replaceChildren(...data.items.map(pollRow));
    $("#poll-empty").hidden = data.items.length > 0;
    renderPager(data, (p) => loadPolls(p));
  } catch (failure) {
    error.textContent = errorText(failure);
  }
}

function pollRow(poll) {
  const actions = h("div", { class: "row-actions" });
  const button = (text, onclick, cls = "btn-ghost") =>
    h("button", { type: "button", class: `btn btn-small ${cls}`, onclick }, text);
  if (isAdmin()) {
    actions.append(button(t("edit"), () => editPoll(poll.id)));
    if (poll.status === "closed") actions.append(button(t("reopen"), () => reopen(poll)));
    else if (poll.status !== "archived") actions.append(button(t("close"), () => closePoll(poll)));
    if (poll.status !== "archived") actions.append(button(t("archive"), () => archive(poll), "btn-ghost-danger"));
  }
  actions.append(button(t("embed"), () => showEmbed(poll)));
  actions.append(h("a", { class: "btn btn-small btn-ghost", href: withLang(`/dashboard?poll=${poll.id}`) },
    t("results")));
  return h("tr", { dataset: { pollId: poll.id } },
    h("th", { scope: "row", class: "question-cell" }, poll.question),
    h("td", { class: "nowrap", "data-label": t("col_article") }, h("code", {}, poll.article_id)),
    h("td", { "data-label": t("col_status") }, statusBadge(poll.status)),
    h("td", { class: "num", "data-label": t("col_participants") }, formatNumber(poll.participants)),
    h("td", { class: "num", "data-label": t("col_engagement") }, formatRate(poll.engagement_rate)),
    h("td", { class: "nowrap", "data-label": t("col_created") }, h("time", { datetime: poll.created_at, title: formatDateTime(poll.created_at) },
      formatShortDateTime(poll.created_at))),
    h("td", { class: "actions-cell" }, actions));
}

function refresh() {
  loadPolls();
  if (isAdmin()) loadAudit();
}

// ---- editor ----

function openEditor(poll = null) {
  $("#list-view").hidden = true;
  $("#new-poll").hidden = true;
  $("#editor").hidden = false;
  form.open(poll);
}

function closeEditor() {
  $("#editor").hidden = true;
  $("#list-view").hidden = false;
  $("#new-poll").hidden = !isAdmin();
  $("#new-poll").focus();
}

async function editPoll(id) {
  try {
    openEditor(await api(`/polls/${id}`)); // fresh: participants decide what is locked
  } catch (failure) {
    announce(errorText(failure));
  }
}

// ---- close, reopen, archive ----

/** Resolves true when the user confirms, in the page's own dialog. */
function confirmAction(message, okText) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = message;
  $("#confirm-ok").textContent = okText;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("#confirm-ok").focus();
  });
}

async function change(request, message) {
  try {
    await request();
    announce(message);
    refresh();
  } catch (failure) {
    announce(errorText(failure));
  }
}

async function closePoll(poll) {
  if (!(await confirmAction(t("confirm_close", { q: poll.question }), t("confirm_close_ok")))) return;
  await change(() => api(`/polls/${poll.id}`, { method: "PATCH", body: { status: "closed" } }),
    t("msg_closed"));
}

async function reopen(poll) {
  const body = { status: "open" };
  if (poll.closes_at && new Date(poll.closes_at) <= new Date()) body.closes_at = null; // its end had passed
  await change(() => api(`/polls/${poll.id}`, { method: "PATCH", body }), t("msg_reopened"));
}

async function archive(poll) {
  if (!(await confirmAction(t("confirm_archive", { q: poll.question }), t("confirm_archive_ok")))) return;
  await change(() => api(`/polls/${poll.id}`, { method: "DELETE" }), t("msg_archived"));
}

// ---- embed codes ----

function embedCodes(poll) {
  const origin = window.location.origin;
  const lang = document.body.dataset.lang;
  const script = `<script src="${origin}/widget.js" async></script>`;
  return [
    [t("embed_article", { a: poll.article_id }),
      `<div data-pollsvc-article="${poll.article_id}" data-lang="${lang}"></div>\n${script}`],
    [t("embed_poll"), `<div data-pollsvc-poll="${poll.id}" data-lang="${lang}"></div>\n${script}`],
    [t("embed_iframe"), `<iframe src="${origin}/embed/articles/${poll.article_id}" title="${t("iframe_title")}"`
      + ` width="100%" height="420" loading="lazy"></iframe>`],
  ];
}

async function copy(textarea) {
  const status = $("#embed-status");
  try {
    await navigator.clipboard.writeText(textarea.value);
    status.textContent = t("copied");
  } catch {
    textarea.select();
    status.textContent = document.execCommand("copy") ? t("copied") : t("copy_failed");
  }
}

function showEmbed(poll) {
  $("#embed-question").textContent = poll.question;
  $("#embed-status").textContent = "";
  const blocks = embedCodes(poll).map(([label, code], i) => {
    const area = h("textarea", { id: `embed-${i}`, readonly: true, rows: code.split("\n").length + 1,
      spellcheck: "false", class: "code" });
    area.value = code;
    return h("div", { class: "field embed-block" },
      h("label", { for: area.id }, label),
      area,
      h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": `${t("copy")}: ${label}`,
        onclick: () => copy(area) }, t("copy")));
  });
  $("#embed-blocks").replaceChildren(...blocks);
  $("#embed-dialog").showModal();
}

// ---- audit log ----

async function loadAudit() {
  try {
    const data = await api("/audit?per_page=20");
    $("#audit-rows").replaceChildren(...data.items.map((event) => h("tr", {},
      h("td", { class: "nowrap" }, formatShortDateTime(event.at)),
      h("td", {}, event.api_key_name || t("none")),
      h("td", {}, t("action_" + event.action)),
      h("td", { class: "num" }, event.poll_id ?? t("none")),
      h("td", { class: "details-cell" }, describe(event.details)))));
    $("#audit-empty").hidden = data.items.length > 0;
  } catch (failure) {
    $("#audit-empty").hidden = false;
    $("#audit-empty").textContent = errorText(failure);
  }
}

function describe(details) {
  if (!details) return "";
  if (details.question) return details.question;
  if (details.fields) return details.fields.join(", ");
  return JSON.stringify(details);
}

// ---- start ----

$("#poll-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  state.filters = { article_id: data.get("article_id").trim(), status: data.get("status") };
  loadPolls(1);
});
$("#poll-filters").addEventListener("reset", () => { state.filters = {}; setTimeout(() => loadPolls(1)); });
$("#new-poll").addEventListener("click", () => openEditor());

setupSession({
  start(role) {
    state.role = role;
    const admin = role === "admin";
    document.querySelectorAll(".admin-only").forEach((el) => { el.hidden = !admin; });
    $("#readonly-note").hidden = admin;
    $("#editor").hidden = true;
    $("#list-view").hidden = false;
    loadPolls(1);
    if (admin) loadAudit();
  },
  stop() {
    state.polls = new Map();
    $("#poll-rows").replaceChildren();
    $("#audit-rows").replaceChildren();
  },
});
