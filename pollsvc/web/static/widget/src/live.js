
// ---- live.js: an open poll read again at the pace the service asks, while the page is visible ----
// The service sends X-Poll-Refresh (seconds) with a read while a poll in it is open; without it
// (or once no poll is open) the widget stops asking. Re-reads are revalidations (ETag, 304), which
// a CDN answers for most readers. Hidden page: no reads; visible again: one at once.
var MAX_WAIT = 60; // seconds between reads while the service fails or refuses them

function refreshDelay(r) {
  var s = +r.headers.get("X-Poll-Refresh");
  return s > 0 && r.polls.some(function (p) { return p.status === "open"; }) ? Math.max(1, s) : 0;
}

// first: the read that rendered the polls; read(): the next one, resolving to it (null offline).
function follow(host, first, read) {
  var delay = refreshDelay(first);
  var timer = 0;
  var busy = false;
  if (!delay) return;

  function wait() {
    clearTimeout(timer);
    timer = document.visibilityState === "visible" ? setTimeout(tick, delay * 1000) : 0;
  }
  function tick() {
    timer = 0;
    if (!host.isConnected) delay = 0; // the host page took the element away
    if (!delay) return stop();
    busy = true;
    read().then(null, function () { return null; }).then(function (r) {
      busy = false;
      if (r && r.status === 200) delay = refreshDelay(r);
      else if (!r || r.status === 429 || r.status >= 500) delay = Math.min(MAX_WAIT, delay * 2);
      else delay = 0; // 404: the poll is gone
      if (delay) wait(); else stop();
    });
  }
  function onVisibility() {
    if (document.visibilityState !== "visible") {
      clearTimeout(timer);
      timer = 0;
    } else if (!busy && !timer) {
      tick();
    }
  }
  function stop() { document.removeEventListener("visibilitychange", onVisibility); }
  document.addEventListener("visibilitychange", onVisibility);
  wait();
}
