
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
    plural: new Intl.PluralRules(t.locale),
    percent: new Intl.NumberFormat(t.locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })
  };
  var box = el("div", "psv"); // its text rules and font size: style.js
  box.lang = t.locale.slice(0, 2);
  box.dir = t.dir; // the language's direction, not the host page's (<html dir="rtl">)
  root.appendChild(box);
  load(host, box, ctx);
}

function load(host, box, ctx) {
  var article = host.getAttribute("data-pollsvc-article");
  var poll = article != null ? null : host.getAttribute("data-pollsvc-poll") || "";
  var key = hostKey(article, poll);
  clear(box);
  var status = el("p", "loading", ctx.t.loading);
  status.setAttribute("role", "status");
  reserve(box, key).appendChild(status);
  readPolls(article, poll, ctx.user).then(function (r) { return r; }, function () { return null; })
    .then(function (r) {
      clear(box);
      if (r && r.status === 200) {
        var list = box.appendChild(el("div"));
        var views = {};
        show(list, views, r.polls, ctx);
        if (r.polls.length) measure(box, list, key); else { rememberHeight(key, 0); free(box); }
        var again = function () {
          return readPolls(article, poll, ctx.user, true).then(function (next) {
            if (next.status === 200) show(list, views, next.polls, ctx);
            return next;
          });
        };
        hosts.push({ host: host, views: views, read: again });
        follow(host, r, again);
      } else if (!r || r.status === 429 || r.status >= 500) {
        var msg = el("p", "msg", r && r.status === 429 ? ctx.t.rate : ctx.t.loadError);
        msg.setAttribute("role", "alert");
        var retry = el("button", "retry", ctx.t.retry);
        retry.type = "button";
        retry.addEventListener("click", function () { load(host, box, ctx); });
        msg.appendChild(retry);
        box.appendChild(msg);
        keepRoom(box);
      } else { // 404, 422: nothing to show; the page's author is told where they will look
        console.warn("pollsvc: nothing to show for " + (article != null
          ? 'data-pollsvc-article="' + article + '": not a valid article id'
          : 'data-pollsvc-poll="' + poll + '": no such poll (or not published)') +
          " (HTTP " + r.status + (r.data.error ? " " + r.data.error : "") + ")");
        rememberHeight(key, 0);
        free(box);
      }
    });
}

// A vote in another tab of this site (its receipt lands in the shared storage): the hosts showing
// that poll read it again, so that they show the vote too. (This tab's own votes: view.js.)
var hosts = []; // {host, views, read}: every host element shown, with its polls
addEventListener("storage", function (e) {
  if (e.key !== storageKey("receipts")) return;
  var was = parseMap(e.oldValue), now = parseMap(e.newValue);
  hosts = hosts.filter(function (h) { return h.host.isConnected; });
  hosts.forEach(function (h) {
    if (Object.keys(h.views).some(function (id) { return now[id] && String(now[id]) !== String(was[id]); })) {
      h.read().then(null, function () {});
    }
  });
});

// The polls of a read into list: views (poll id -> pollView) updated in place, new polls added at
// the end, polls no longer there taken away.
function show(list, views, polls, ctx) {
  var ids = {};
  polls.forEach(function (p) {
    ids[p.id] = true;
    if (views[p.id]) return views[p.id].update(p);
    var view = views[p.id] = pollView(p, ctx);
    list.appendChild(view.node);
    watchViews(view.node, p.id);
  });
  Object.keys(views).forEach(function (id) {
    if (ids[id]) return;
    unwatchViews(views[id].node);
    list.removeChild(views[id].node);
    delete views[id];
  });
}
