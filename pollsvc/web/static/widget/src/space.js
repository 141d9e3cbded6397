
// ---- space.js: the room a host element's box takes on the page while its polls load ----
// The polls arrive after the page is laid out. Were the box empty until then, everything below it
// would jump (a layout shift) under a reader already there. So the box keeps room from the start:
// as tall as its polls were on this browser's last visit (storage.js), else a typical poll card
// (.wait). Room the polls do not fill is given back only once the box is below the screen, where
// nothing the reader sees moves; with nothing to show (no poll, an unknown id) at once.
var gauge = window.ResizeObserver && typeof WeakMap === "function" ? new ResizeObserver(function (entries) {
  entries.forEach(function (e) {
    var key = measured.get(e.target);
    if (key && e.target.isConnected) rememberHeight(key, Math.ceil(e.target.getBoundingClientRect().height));
  });
}) : null;
var measured = gauge && new WeakMap(); // content -> its host's key
var below = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
  entries.forEach(function (e) { // not on screen, and its top under it (above it: it keeps the room)
    if (!e.isIntersecting && e.boundingClientRect.top > 0) free(e.target);
  });
}) : null;

function hostKey(article, poll) { return article != null ? "a:" + article : "p:" + poll; }

// Room for the polls of host `key` in box, and a skeleton card filling it, which is returned.
function reserve(box, key) {
  var h = recallHeight(key);
  var skeleton = el("div", "poll skel");
  if (h == null) {
    box.classList.add("wait");
  } else {
    box.style.minHeight = h + "px";
    skeleton.hidden = !h; // nothing to show last time: no card to flash, nor to give back
  }
  box.appendChild(skeleton);
  return skeleton;
}

// The polls are in `content`: its height is remembered for the next visit, now and as it changes
// (a vote, a live read); the room they do not fill is kept until the box is below the screen.
function measure(box, content, key) {
  if (gauge) { measured.set(content, key); gauge.observe(content); }
  keepRoom(box);
}

function keepRoom(box) { if (below) below.observe(box); }

function free(box) {
  box.classList.remove("wait");
  box.style.minHeight = "";
  if (below) below.unobserve(box);
}
