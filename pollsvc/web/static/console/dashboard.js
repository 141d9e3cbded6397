// /dashboard: polls ranked by participants or engagement rate; with ?poll=ID, one poll's funnel
// (views, participants, rate), results, views and participants over time, integrity and its CSV,
// re-read every 3 seconds while the poll is open and the tab is shown.

import {
  $, $$, LANG, api, errorText, formatDateTime, formatNumber, formatPercent, formatRate, formatShortDateTime, h, localToIso, renderPager,
  setupSession, statusBadge, storedRole, t, withLang,
} from "./common.js";
import { barChart, columnChart } from "./charts.js";

const PER_PAGE = 20;
const LIVE_MS = 3000; // an open poll
const WAITING_MS = 30000; // a scheduled one, until it opens
const RETRY_MS = 10000; // after a failed read
const INTEGRITY_EVERY = 10; // live reads between two reads of the integrity panel (about 30 s)
const pollId = document.body.dataset.pollId;
const state = {
  page: 1, filters: {}, interval: "hour", timer: null, poll: null, active: false, drawn: null, integrity: null,
  seq: 0, reads: 0, wantIntegrity: true, shown: { poll: "", results: "", series: "", integrity: "" },
};

/** A count, or "—" when the service did not send it. */
const count = (n) => (n === undefined || n === null ? t("none") : formatNumber(n));

const rate = formatRate;

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
      h("td", { class: "num", "data-label": t("col_views") }, count(item.views)),
      h("td", { class: "num", "data-label": t("col_participants") }, formatNumber(item.participants)),
      h("td", { class: "num", "data-label": t("col_engagement") }, rate(item.engagement_rate)),
      h("td", { class: "num", "data-label": t("col_votes") }, formatNumber(item.total_votes)))));
    $("#report-heading").textContent = t(state.filters.sort === "engagement"
      ? "report_heading_engagement" : "report_heading");
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
    sort: data.get("sort") === "engagement" ? "engagement" : "",
  };
  loadReport(1);
});
$("#report-filters").addEventListener("reset", () => { state.filters = {}; setTimeout(() => loadReport(1)); });

// ---- one poll ----

const hourFormat = new Intl.DateTimeFormat(LANG === "vi" ? "vi-VN" : "en-GB",
  { day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(LANG === "vi" ? "vi-VN" : "en-GB", { day: "numeric", month: "short" });
const bucketLabel = (iso) => (state.interval === "hour" ? hourFormat : dayFormat).format(new Date(iso));

const live = (status) => status === "open" || status === "scheduled";

/**
 * Reads the poll, its results and its timeseries (and, every INTEGRITY_EVERY reads or when asked,
 * the integrity panel) and draws what changed. A read that a newer one overtook (an interval
 * switch, a void) is dropped, so the page never goes back to older figures.
 */
async function loadPoll({ integrity = false } = {}) {
  clearTimeout(state.timer);
  state.timer = null;
  if (!state.active) return;
  const seq = ++state.seq;
  const started = performance.now();
  if (integrity) state.wantIntegrity = true; // kept until a full read lands, even if this one is overtaken
  const withIntegrity = state.wantIntegrity || state.reads >= INTEGRITY_EVERY;
  try {
    const reads = [
      api(`/polls/${pollId}`),
      api(`/polls/${pollId}/results`),
      api(`/polls/${pollId}/results/timeseries?interval=${state.interval}`),
    ];
    if (withIntegrity) reads.push(api(`/polls/${pollId}/integrity`), api(`/polls/${pollId}/voids`));
    const [poll, results, series, report, voids] = await Promise.all(reads);
    if (seq !== state.seq || !state.active) return;
    $("#poll-error").hidden = true;
    if (withIntegrity) {
      state.integrity = report;
      state.wantIntegrity = false;
      state.reads = 0;
      renderIntegrity(report, voids.items);
    } else {
      state.reads += 1;
    }
    renderPoll(poll, results, series);
    const wasLive = live(state.poll?.status ?? "open");
    state.poll = poll;
    if (wasLive && !live(poll.status) && !withIntegrity) {
      loadPoll({ integrity: true }); // it just closed: one last full read, then no more
      return;
    }
    schedule(started);
  } catch (failure) {
    if (seq !== state.seq || !state.active) return;
    $("#poll-error").textContent = errorText(failure);
    $("#poll-error").hidden = false;
    if (failure.status !== 404 && failure.status !== 401 && !document.hidden) {
      state.timer = setTimeout(loadPoll, RETRY_MS);
    }
  }
}

/** The next read, counted from the start of the last one (a vote waits at most 3 s plus one read):
 * every 3 s while the poll is open, 30 s while it waits to open, none once it is closed, and none
 * while the tab is hidden (it reads again as soon as the tab is shown). */
function schedule(started) {
  const status = state.poll?.status;
  const delay = status === "open" ? LIVE_MS : status === "scheduled" ? WAITING_MS : null;
  const time = t("updated_at", { time: new Date().toLocaleTimeString(LANG === "vi" ? "vi-VN" : "en-GB") });
  const note = status === "open" ? t("auto_refresh") : status === "scheduled" ? t("auto_refresh_waiting") : "";
  $("#refresh-note").textContent = note ? `${note} ${time}` : time;
  if (delay && !document.hidden) state.timer = setTimeout(loadPoll, Math.max(0, started + delay - performance.now()));
}

/** Draws `render`'s part of the page only when `data` differs from what is shown (or `force`):
 * an unchanged read leaves the DOM, hover titles and the reader's focus alone. */
function drawIfChanged(part, data, render, force = false) {
  const text = JSON.stringify(data);
  if (!force && state.shown[part] === text) return;
  state.shown[part] = text;
  render();
}

function renderPoll(poll, results, series, { force = false } = {}) {
  state.drawn = [poll, results, series];
  drawnWidth = $("#results-chart").clientWidth;
  drawIfChanged("poll", [poll.question, poll.status, poll.article_id], () => {
    document.title = `${poll.question} · pollsvc`;
    $("#poll-question").textContent = poll.question;
    $("#poll-meta").replaceChildren(statusBadge(poll.status), " ", h("code", {}, poll.article_id),
      ` · #${poll.id} · ${t("col_created")}: ${formatDateTime(poll.created_at)}`);
  }, force);

  drawIfChanged("results", [poll.question, results], () => {
    $("#stat-participants").textContent = formatNumber(results.participants);
    $("#stat-votes").textContent = formatNumber(results.total_votes);
    $("#stat-first").textContent = formatShortDateTime(results.first_vote_at);
    $("#stat-last").textContent = formatShortDateTime(results.last_vote_at);
    $("#stat-voided").textContent = formatNumber(results.voided);
    renderFunnel(results);
    const resultsBox = $("#results-chart");
    resultsBox.replaceChildren(barChart(results.options, t("results_chart", { q: poll.question }), resultsBox));
    $("#results-rows").replaceChildren(...results.options.map((option) => h("tr", {},
      h("th", { scope: "row" }, option.label),
      h("td", { class: "num" }, formatNumber(option.votes)),
      h("td", { class: "num" }, formatPercent(option.percent)))));
  }, force);

  const marked = burstBuckets(series);
  drawIfChanged("series", [poll.question, series, [...marked]], () => {
    const name = t(`timeline_chart_${series.interval}`, { q: poll.question });
    const timelineBox = $("#timeline-chart");
    timelineBox.replaceChildren(columnChart(series.buckets, name, bucketLabel, timelineBox, marked));
    $("#timeline-bursts").hidden = marked.size === 0;
    $("#timeline-rows").replaceChildren(...series.buckets.map((bucket) => h("tr", {},
      h("td", {}, formatDateTime(bucket.start)),
      h("td", { class: "num" }, count(bucket.views)),
      h("td", { class: "num" }, formatNumber(bucket.participants)))));
  }, force);
}

/** Views, then participants as a share of them (bars on one scale), then the rate. */
function renderFunnel(results) {
  const views = results.views ?? 0;
  const scale = Math.max(1, views, results.participants);
  $("#funnel-views").textContent = count(results.views);
  $("#funnel-participants").textContent = formatNumber(results.participants);
  $("#funnel-rate").replaceChildren(...[rate(results.engagement_rate)].flat());
  $("#funnel-views-bar").style.width = `${(100 * views) / scale}%`;
  const taken = (100 * results.participants) / scale;
  $("#funnel-participants-bar").style.width = results.participants > 0 ? `max(${taken}%, 3px)` : "0";
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
  drawIfChanged("integrity", [report, voids], () => keepingFocus(() => drawIntegrity(report, voids)));
}

/** Runs `render`; if it replaced the focused control, focuses its successor (same data-focus key). */
function keepingFocus(render) {
  const focused = document.activeElement;
  const key = focused?.dataset?.focus;
  render();
  if (key && !focused.isConnected) document.querySelector(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

function drawIntegrity(report, voids) {
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
      ? h("button", { type: "button", class: "btn btn-danger btn-small", dataset: { focus: `void-${burst.id}` },
        onclick: () => voidBurst(burst) },
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
      : admin ? h("button", { type: "button", class: "btn btn-secondary btn-small", dataset: { focus: `restore-${v.id}` },
        onclick: () => restoreVoid(v) },
        t("restore_void")) : null))));
  $("#voids-empty").hidden = voids.length > 0;
}

async function voidBurst(burst) {
  try {
    const done = await api(`/polls/${pollId}/voids`, { method: "POST", body: { burst: burst.id } });
    $("#integrity-message").textContent = "";
    await loadPoll({ integrity: true });
    $("#integrity-status").textContent = t("voided_done", { n: formatNumber(done.ballots) });
  } catch (failure) {
    $("#integrity-message").textContent = errorText(failure);
  }
}

async function restoreVoid(record) {
  try {
    const done = await api(`/polls/${pollId}/voids/${record.id}/restore`, { method: "POST" });
    $("#integrity-message").textContent = "";
    await loadPoll({ integrity: true });
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

// The charts are drawn at their box's width: redrawn when it changes (not when only the height
// does, as when a phone's address bar hides).
let resizeTimer;
let drawnWidth = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    const width = $("#results-chart").clientWidth;
    if (state.drawn && width !== drawnWidth) renderPoll(...state.drawn, { force: true });
  }, 150);
});

// Hidden tab: no reads at all. Shown again: read at once (if the poll is still worth reading).
document.addEventListener("visibilitychange", () => {
  if (!pollId || !state.active) return;
  if (document.hidden) {
    clearTimeout(state.timer);
    state.timer = null;
  } else if (live(state.poll?.status ?? "open")) {
    loadPoll();
  }
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
