// /dashboard: polls ranked by participants; with ?poll=ID, one poll's results, participants over
// time and its CSV, refreshed every few seconds while the poll is open.

import {
  $, $$, LANG, api, errorText, formatDateTime, formatNumber, formatPercent, formatShortDateTime, h, localToIso, renderPager,
  setupSession, statusBadge, t, withLang,
} from "./common.js";
import { barChart, columnChart } from "./charts.js";

const PER_PAGE = 20;
const REFRESH_MS = 5000;
const pollId = document.body.dataset.pollId;
const state = { page: 1, filters: {}, interval: "hour", timer: null, poll: null, active: false, drawn: null };

// ---- ranking ----

async function loadReport(page = state.page) {
  const query = new URLSearchParams({ page, per_page: PER_PAGE });
  for (const [name, value] of Object.entries(state.filters)) if (value) query.set(name, value);
  try {
    const data = await api(`/reports/polls?${query}`);
    $("#report-error").textContent = "";
    state.page = data.page;
    const first = (data.page - 1) * data.per_page;
    $("#report-rows").replaceChildren(...data.items.map((item, i) => h("tr", {},
      h("td", { class: "num", "data-label": t("col_rank") }, formatNumber(first + i + 1)),
      h("th", { scope: "row", class: "question-cell" },
        h("a", { href: withLang(`/dashboard?poll=${item.poll_id}`) }, item.question)),
      h("td", { "data-label": t("col_article") }, h("code", {}, item.article_id)),
      h("td", { "data-label": t("col_status") }, statusBadge(item.status)),
      h("td", { class: "num", "data-label": t("col_participants") }, formatNumber(item.participants)),
      h("td", { class: "num", "data-label": t("col_votes") }, formatNumber(item.total_votes)))));
    $("#report-empty").hidden = data.items.length > 0;
    renderPager(data, (p) => loadReport(p));
  } catch (failure) {
    $("#report-error").textContent = errorText(failure);
  }
}

$("#report-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  state.filters = {
    article_id: data.get("article_id").trim(),
    status: data.get("status"),
    from: localToIso(data.get("from")),
    to: localToIso(data.get("to"), { endOfDay: true }),
  };
  loadReport(1);
});
$("#report-filters").addEventListener("reset", () => { state.filters = {}; setTimeout(() => loadReport(1)); });

// ---- one poll ----

const hourFormat = new Intl.DateTimeFormat(LANG === "vi" ? "vi-VN" : "en-GB",
  { day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(LANG === "vi" ? "vi-VN" : "en-GB", { day: "numeric", month: "short" });
const bucketLabel = (iso) => (state.interval === "hour" ? hourFormat : dayFormat).format(new Date(iso));

async function loadPoll() {
  clearTimeout(state.timer);
  if (!state.active) return;
  try {
    const [poll, results, series] = await Promise.all([
      api(`/polls/${pollId}`),
      api(`/polls/${pollId}/results`),
      api(`/polls/${pollId}/results/timeseries?interval=${state.interval}`),
    ]);
    $("#poll-error").hidden = true;
    renderPoll(poll, results, series);
    const live = poll.status === "open" || poll.status === "scheduled";
    $("#refresh-note").textContent = live
      ? `${t("auto_refresh")} ${t("updated_at", { time: new Date().toLocaleTimeString(LANG) })}`
      : t("updated_at", { time: new Date().toLocaleTimeString(LANG) });
    if (live) state.timer = setTimeout(loadPoll, REFRESH_MS);
  } catch (failure) {
    $("#poll-error").textContent = errorText(failure);
    $("#poll-error").hidden = false;
    if (failure.status !== 404 && failure.status !== 401) state.timer = setTimeout(loadPoll, REFRESH_MS * 2);
  }
}

function renderPoll(poll, results, series) {
  state.poll = poll;
  document.title = `${poll.question} · pollsvc`;
  $("#poll-question").textContent = poll.question;
  $("#poll-meta").replaceChildren(statusBadge(poll.status), " ", h("code", {}, poll.article_id),
    ` · #${poll.id} · ${t("col_created")}: ${formatDateTime(poll.created_at)}`);
  $("#stat-participants").textContent = formatNumber(results.participants);
  $("#stat-votes").textContent = formatNumber(results.total_votes);
  $("#stat-first").textContent = formatShortDateTime(results.first_vote_at);
  $("#stat-last").textContent = formatShortDateTime(results.last_vote_at);

  state.drawn = [poll, results, series];
  const resultsBox = $("#results-chart");
  resultsBox.replaceChildren(barChart(results.options, t("results_chart", { q: poll.question }), resultsBox));
  $("#results-rows").replaceChildren(...results.options.map((option) => h("tr", {},
    h("th", { scope: "row" }, option.label),
    h("td", { class: "num" }, formatNumber(option.votes)),
    h("td", { class: "num" }, formatPercent(option.percent)))));

  const name = t(`timeline_chart_${series.interval}`, { q: poll.question });
  const timelineBox = $("#timeline-chart");
  timelineBox.replaceChildren(columnChart(series.buckets, name, bucketLabel, timelineBox));
  $("#timeline-rows").replaceChildren(...series.buckets.map((bucket) => h("tr", {},
    h("td", {}, formatDateTime(bucket.start)),
    h("td", { class: "num" }, formatNumber(bucket.participants)))));
}

$$(".seg").forEach((button) => button.addEventListener("click", () => {
  state.interval = button.dataset.interval;
  $$(".seg").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  loadPoll();
}));

/** The CSV needs the key, so it is fetched and handed to the browser as a Blob download. */
$("#download-csv").addEventListener("click", async () => {
  const button = $("#download-csv");
  button.disabled = true;
  try {
    const response = await api(`/polls/${pollId}/results.csv`, { raw: true });
    const blob = await response.blob();
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = h("a", { href: URL.createObjectURL(blob), download: match ? match[1] : `poll-${pollId}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (failure) {
    $("#poll-error").textContent = errorText(failure);
    $("#poll-error").hidden = false;
  } finally {
    button.disabled = false;
  }
});

let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (state.drawn) renderPoll(...state.drawn); }, 150);
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.active && pollId) loadPoll();
});

// ---- start ----

setupSession({
  start() {
    state.active = true;
    $("#report-view").hidden = Boolean(pollId);
    $("#poll-view").hidden = !pollId;
    if (pollId) loadPoll();
    else loadReport(1);
  },
  stop() {
    state.active = false;
    clearTimeout(state.timer);
  },
});
