
// ---- dom.js: small helpers, text only, never HTML ----
function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function fill(template, n) { return template.replace("{n}", n); }
