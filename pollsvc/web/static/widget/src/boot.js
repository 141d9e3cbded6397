
// ---- boot.js: every host element on the page, now and later ----
var SELECTOR = "[data-pollsvc-article],[data-pollsvc-poll]";
var scheduled = false;
function scan() {
  scheduled = false;
  Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), mount);
}
if (API) { // else this script could not tell where it came from: nothing to show
  scan();
  if (window.MutationObserver) {
    new MutationObserver(function () {
      if (!scheduled) { scheduled = true; Promise.resolve().then(scan); }
    }).observe(document.documentElement, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["data-pollsvc-article", "data-pollsvc-poll"]
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
}
