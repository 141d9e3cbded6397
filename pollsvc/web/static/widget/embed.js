/* pollsvc iframe embed: tells the parent page how tall this page is, and nothing else.
   Parent page:
     addEventListener("message", function (e) {
       if (e.origin === "https://POLLS.EXAMPLE" && typeof e.data.pollsvcHeight === "number")
         document.getElementById("poll-frame").style.height = e.data.pollsvcHeight + "px";
     });
*/
(function () {
  "use strict";
  if (window.parent === window) return;
  var root = document.documentElement;
  var last = -1;
  function post() {
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ pollsvcHeight: height }, "*");
    }
  }
  if (window.ResizeObserver) new ResizeObserver(post).observe(root);
  else setInterval(post, 500);
  post();
})();
