
// ---- host.js: one host element: its polls, read into a shadow root ----
var mounted = typeof WeakSet === "function" ? new WeakSet() : null;

function mount(host) {
  if (!mounted || mounted.has(host)) return;
  mounted.add(host);
  var root;
  try { root = host.attachShadow({ mode: "open" }); } catch (e) { return; }
  addStyle(root);
  var t = TEXT[/^en/i.test(host.getAttribute("data-lang") || "") ? "en" : "vi"];
  var ctx = {
    t: t,
    user: host.getAttribute("data-pollsvc-user") || "",
    number: new Intl.NumberFormat(t.locale),
    percent: new Intl.NumberFormat(t.locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })
  };
  var box = el("div", "psv");
  box.lang = t.locale.slice(0, 2);
  root.appendChild(box);
  load(host, box, ctx);
}

function load(host, box, ctx) {
  var article = host.getAttribute("data-pollsvc-article");
  var poll = article != null ? null : host.getAttribute("data-pollsvc-poll") || "";
  clear(box);
  var status = el("p", "loading", ctx.t.loading);
  status.setAttribute("role", "status");
  box.appendChild(status);
  readPolls(article, poll, ctx.user).then(function (r) { return r; }, function () { return null; })
    .then(function (r) {
      clear(box);
      if (r && r.status === 200) {
        r.polls.forEach(function (p) { box.appendChild(pollView(p, ctx)); });
      } else if (!r || r.status === 429 || r.status >= 500) { // 404 and 422: nothing to show
        var msg = el("p", "msg", r && r.status === 429 ? ctx.t.rate : ctx.t.loadError);
        msg.setAttribute("role", "alert");
        var retry = el("button", "retry", ctx.t.retry);
        retry.type = "button";
        retry.addEventListener("click", function () { load(host, box, ctx); });
        msg.appendChild(retry);
        box.appendChild(msg);
      }
    });
}
