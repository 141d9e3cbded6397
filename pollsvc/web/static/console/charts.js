// SVG charts drawn here (no library, no CDN). Each is role="img" with a name; the numbers are
// also in a table next to it.

import { formatNumber, formatPercent, svg, t } from "./common.js";

const MAX_WIDTH = 760;

/** Drawn at the container's own width, so the text keeps its size on a phone. */
function widthOf(container) {
  return Math.round(Math.min(MAX_WIDTH, Math.max(280, container?.clientWidth || 640)));
}

function truncate(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function frame(width, height, name) {
  return svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": name, class: "chart-svg",
    preserveAspectRatio: "xMinYMin meet",
  });
}

/** Horizontal bars: one per option, its label above, votes and percent at the end. */
export function barChart(options, name, container) {
  const row = 46;
  const WIDTH = widthOf(container);
  const labelWidth = 130;
  const chart = frame(WIDTH, options.length * row + 8, name);
  const max = Math.max(1, ...options.map((o) => o.votes));
  const track = WIDTH - labelWidth;
  options.forEach((option, i) => {
    const y = i * row + 4;
    const width = Math.max(option.votes > 0 ? 3 : 0, (option.votes / max) * (track - 10));
    chart.append(
      svg("text", { x: 0, y: y + 14, class: "chart-label" }, truncate(option.label, Math.floor(WIDTH / 8))),
      svg("rect", { x: 0, y: y + 22, width: track, height: 16, rx: 3, class: "bar-track" }),
      svg("rect", { x: 0, y: y + 22, width, height: 16, rx: 3, class: `bar bar-${i % 6}` }),
      svg("text", { x: track + 10, y: y + 35, class: "chart-value" },
        `${formatNumber(option.votes)} · ${formatPercent(option.percent)}`),
    );
  });
  return chart;
}

/** Views and participants per bucket on one scale: a wide light column of views with the
 * participants' narrower solid column in front of it, so each bucket reads as "of these views,
 * this many took part". A light grid and a few time labels; the buckets whose start is in
 * `marked` (bursts flagged as stuffing) have their participants drawn in the alert colour. */
export function columnChart(buckets, name, formatLabel, container, marked = new Set()) {
  const WIDTH = widthOf(container);
  const height = 240;
  const left = 52;
  const bottom = 28;
  const top = 10;
  const chart = frame(WIDTH, height, name);
  const plotH = height - bottom - top;
  const plotW = WIDTH - left - 8;
  if (buckets.length === 0) {
    chart.append(svg("text", { x: WIDTH / 2, y: height / 2, "text-anchor": "middle", class: "chart-empty" },
      t("no_activity")));
    return chart;
  }
  const viewsOf = (bucket) => bucket.views ?? 0;
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.participants, viewsOf(b))));
  const nice = niceMax(Math.max(2, max));
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH - fraction * plotH;
    chart.append(
      svg("line", { x1: left, x2: WIDTH - 8, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, formatNumber(Math.round(nice * fraction))),
    );
  }
  const step = plotW / buckets.length;
  const viewWidth = Math.max(1, Math.min(48, step * 0.8));
  const barWidth = Math.max(1, viewWidth * 0.55);
  const every = Math.ceil(buckets.length / Math.max(2, Math.floor(WIDTH / 110)));
  const heightOf = (n) => (n / nice) * plotH;
  buckets.forEach((bucket, i) => {
    const middle = left + i * step + step / 2;
    const burst = marked.has(bucket.start);
    const views = heightOf(viewsOf(bucket));
    const taken = heightOf(bucket.participants);
    const title = t("bucket_title", {
      time: formatLabel(bucket.start), views: formatNumber(viewsOf(bucket)),
      participants: formatNumber(bucket.participants),
    }) + (burst ? " · " + t("verdict_stuffing") : "");
    chart.append(svg("g", { class: "bucket" },
      svg("title", {}, title),
      svg("rect", { x: middle - viewWidth / 2, y: top + plotH - views, width: viewWidth, height: views, class: "column-views" }),
      svg("rect", { x: middle - barWidth / 2, y: top + plotH - taken, width: barWidth, height: taken,
        class: burst ? "column burst" : "column" })));
    if (i % every === 0) {
      chart.append(svg("text", { x: middle, y: height - 8, "text-anchor": "middle", class: "axis" },
        formatLabel(bucket.start)));
    }
  });
  return chart;
}

function niceMax(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 4, 10]) if (factor * magnitude >= value) return factor * magnitude;
  return value;
}
