
// ---- views.js: viewable impressions: at least half a poll on screen for a second, once a page view ----
// Counted by the service (POST /views) with nothing that identifies the reader. The polls seen
// within a second of each other go in one request, a beacon (text/plain JSON: no preflight).
var VIEW_MS = 1000; // on screen this long, without a break, with the page visible
var BATCH_MS = 1000;
var MAX_BATCH = 20; // poll ids the service takes in one request
var counted = {}; // poll id -> true: seen on this page view (sent or about to be)
var queued = [];
var sendTimer = 0;
var watched = typeof Map === "function" ? new Map() : null; // element -> {id, on, timer}
var observer = null;

function watchViews(node, id) {
  if (counted[id] || !watched || !window.IntersectionObserver) return;
  if (!observer) {
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        var w = watched.get(e.target), r = e.rootBounds;
        if (!w) return;
        // a poll taller than twice the window counts when it fills half of it
        w.on = e.isIntersecting && (e.intersectionRatio >= 0.499 || !!r && e.intersectionRect.height >= r.height / 2);
        arm(w);
      });
    }, { threshold: [0, 0.25, 0.5, 0.75, 1] });
    document.addEventListener("visibilitychange", function () {
      watched.forEach(arm);
      if (document.visibilityState === "hidden") sendViews(); // the page may be going away
    });
    addEventListener("pagehide", sendViews);
  }
  watched.set(node, { id: id, on: false, timer: 0 });
  observer.observe(node);
}

function unwatchViews(node) {
  var w = watched && watched.get(node);
  if (!w) return;
  clearTimeout(w.timer);
  observer.unobserve(node);
  watched.delete(node);
}

// The one-second clock runs only while the poll is in view and the page is visible.
function arm(w) {
  if (!w.on || document.visibilityState !== "visible") {
    clearTimeout(w.timer);
    w.timer = 0;
  } else if (!w.timer) {
    w.timer = setTimeout(function () { viewed(w.id); }, VIEW_MS);
  }
}

function viewed(id) {
  counted[id] = true;
  watched.forEach(function (w, node) { if (w.id === id) unwatchViews(node); }); // the same poll twice on a page
  queued.push(id);
  if (!sendTimer) sendTimer = setTimeout(sendViews, BATCH_MS);
}

function sendViews() {
  clearTimeout(sendTimer);
  sendTimer = 0;
  var url = API + "/views";
  while (queued.length) {
    var body = JSON.stringify({ polls: queued.splice(0, MAX_BATCH) });
    try { if (navigator.sendBeacon(url, body)) continue; } catch (e) { /* none, or refused */ }
    fetch(url, { method: "POST", body: body, keepalive: true, mode: "no-cors", credentials: "omit" })
      .then(null, function () {});
  }
}
