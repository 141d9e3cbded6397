// /dashboard: polls ranked by participants; with ?poll=ID, one poll's results, participants over
// time and its CSV, refreshed every few seconds while the poll is open.

import {
  $, $$, LANG, api, errorText, formatDateTime, formatNumber, formatPercent, formatShortDateTime, h, localToIso, renderPager,
  setupSession, statusBadge, storedRole, t, withLang,
} from "./common.js";
import { barChart, columnChart } from "./charts.js";

const PER_PAGE = 20;
const REFRESH_MS = 5000;
const pollId = document.body.dataset.pollId;
const state = {
  page: 1, filters: {}, interval: "hour", timer: null, poll: null, active: false, drawn: null, integrity: null,
};

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
    const [poll, results, series, integrity, voids] = await Promise.all([
      api(`/polls/${pollId}`),
      api(`/polls/${pollId}/results`),
      api(`/polls/${pollId}/results/timeseries?interval=${state.interval}`),
      api(`/polls/${pollId}/integrity`),
      api(`/polls/${pollId}/voids`),
    ]);
    $("#poll-error").hidden = true;
    state.integrity = integrity;
    renderPoll(poll, results, series);
    renderIntegrity(integrity, voids.items);
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
  $("#stat-voided").textContent = formatNumber(results.voided);

  state.drawn = [poll, results, series];
  const resultsBox = $("#results-chart");
  resultsBox.replaceChildren(barChart(results.options, t("results_chart", { q: poll.question }), resultsBox));
  $("#results-rows").replaceChildren(...results.options.map((option) => h("tr", {},
    h("th", { scope: "row" }, option.label),
    h("td", { class: "num" }, formatNumber(option.votes)),
    h("td", { class: "num" }, formatPercent(option.percent)))));

  const name = t(`timeline_chart_${series.interval}`, { q: poll.question });
  const timelineBox = $("#timeline-chart");
  const marked = burstBuckets(series);
  timelineBox.replaceChildren(columnChart(series.buckets, name, bucketLabel, timelineBox, marked));
  $("#timeline-bursts").hidden = marked.size === 0;
  $("#timeline-rows").replaceChildren(...series.buckets.map((bucket) => h("tr", {},
    h("td", {}, formatDateTime(bucket.start)),
    h("td", { class: "num" }, formatNumber(bucket.participants)))));
}

// ---- integrity: bursts, networks, voids ----

/** The chart's buckets (hour or day starts, as the API spells them) that hold a stuffing burst. */
function burstBuckets(series) {
  const marked = new Set();
  const starts = series.buckets.map((b) => [b.start, Date.parse(b.start)]);
  const length = series.interval === "hour" ? 3600e3 : 86400e3;
  for (const burst of state.integrity?.bursts || []) {
    if (burst.verdict !== "stuffing") continue;
    const from = Date.parse(burst.start), to = Date.parse(burst.end);
    for (const [text, at] of starts) if (at < to && at + length > from) marked.add(text);
  }
  return marked;
}

const period = (from, to) => `${formatShortDateTime(from)} – ${formatShortDateTime(to)}`;
const verdict = (v) => h("span", { class: `verdict-${v}`, text: t(`verdict_${v}`) });

function renderIntegrity(report, voids) {
  const admin = storedRole() === "admin";
  $("#integrity-summary").textContent = t("integrity_summary", {
    ballots: formatNumber(report.ballots), networks: formatNumber(report.networks),
    top: formatPercent(report.top_share["1"]).replace(" %", ""), flagged: formatNumber(report.flagged_ballots),
  });
  const voidedBursts = new Set(voids.filter((v) => !v.restored_at).map((v) => v.burst));
  $("#burst-rows").replaceChildren(...report.bursts.map((burst) => h("tr", {},
    h("td", {}, period(burst.start, burst.end)),
    h("td", {}, burst.network ? h("code", {}, burst.network) : t("whole_poll")),
    h("td", { class: "num" }, formatNumber(burst.ballots)),
    h("td", { class: "num" }, formatNumber(burst.peak_per_minute)),
    h("td", {}, verdict(burst.verdict), burst.reasons.length ? h("div", { class: "muted small" },
      burst.reasons.join("; ")) : null),
    h("td", {}, admin && burst.network && !voidedBursts.has(burst.id)
      ? h("button", { type: "button", class: "btn btn-danger btn-small", onclick: () => voidBurst(burst) },
        t("void_burst", { n: formatNumber(burst.ballots) }))
      : null))));
  $("#bursts-empty").hidden = report.bursts.length > 0;
  const total = Math.max(1, report.ballots);
  $("#network-rows").replaceChildren(...report.top_networks.map((n) => h("tr", {},
    h("th", { scope: "row" }, h("code", {}, n.network)),
    h("td", { class: "num" }, formatNumber(n.ballots)),
    h("td", { class: "num" }, formatPercent(Math.round((1000 * n.ballots) / total) / 10)),
    h("td", { class: "num" }, formatNumber(n.tokens_minted)),
    h("td", { class: "num" }, n.mean_token_age_seconds === null ? t("none") : formatNumber(n.mean_token_age_seconds)),
    h("td", {}, n.flagged ? verdict("stuffing") : ""))));
  $("#void-rows").replaceChildren(...voids.map((v) => h("tr", {},
    h("td", {}, formatShortDateTime(v.created_at)),
    h("td", {}, v.network ? h("code", {}, v.network) : "—"),
    h("td", {}, period(v.from, v.to)),
    h("td", { class: "num" }, formatNumber(v.ballots)),
    h("td", {}, v.created_by || t("none")),
    h("td", {}, v.restored_at ? t("restored_at", { time: formatShortDateTime(v.restored_at) })
      : admin ? h("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => restoreVoid(v) },
        t("restore_void")) : null))));
  $("#voids-empty").hidden = voids.length > 0;
}

async function voidBurst(burst) {
  try {
    const done = await api(`/polls/${pollId}/voids`, { method: "POST", body: { burst: burst.id } });
    $("#integrity-message").textContent = "";
    await loadPoll();
    $("#integrity-status").textContent = t("voided_done", { n: formatNumber(done.ballots) });
  } catch (failure) {
    $("#integrity-message").textContent = errorText(failure);
  }
}

async function restoreVoid(record) {
  try {
    const done = await api(`/polls/${pollId}/voids/${record.id}/restore`, { method: "POST" });
    $("#integrity-message").textContent = "";
    await loadPoll();
    $("#integrity-status").textContent = t("restored_done", { n: formatNumber(done.ballots) });
  } catch (failure) {
    $("#integrity-message").textContent = errorText(failure);
  }
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
