/* The demo article's "A- A A+" control: scales the article text, and the poll widget with it
   (the widget keeps its own font size unless the page sets --pollsvc-font-size). */
(function () {
  "use strict";
  var body = document.getElementById("article-body");
  var sizes = [0.875, 1, 1.125, 1.25, 1.375];
  var index = 1;
  document.querySelectorAll(".sizer button").forEach(function (button) {
    button.addEventListener("click", function () {
      var step = Number(button.getAttribute("data-size"));
      index = step === 0 ? 1 : Math.min(sizes.length - 1, Math.max(0, index + step));
      body.style.fontSize = sizes[index] + "em";
      body.style.setProperty("--pollsvc-font-size", sizes[index] + "rem");
    });
  });
})();
