
// ---- style.js: the widget's own CSS, adopted by each shadow root ----
// Inherited properties cross the shadow boundary: the host page's rules on the host element (say
// `div {font-size: 40px !important; white-space: nowrap}`) would reach every line of the poll. The
// box (.psv) therefore sets all the inherited text properties that shape its layout, and its own
// font size: the reader's default size (medium: the browser's setting, which no page rule changes),
// or what the host page deliberately gives --pollsvc-font-size (a custom property: it inherits
// through the shadow boundary, e.g. `--pollsvc-font-size: 1.125rem`; `1em` follows the host element).
// font-family still inherits: the poll takes the host page's typeface. Every size below is in em.
var CSS =
  ":host{display:block;margin:1.5em 0;text-align:start}" +
  ".psv{display:block;font-size:var(--pollsvc-font-size,medium);font-weight:400;font-style:normal;" +
  "font-variant:normal;font-stretch:normal;font-feature-settings:normal;line-height:1.5;" +
  "letter-spacing:normal;word-spacing:normal;text-transform:none;text-indent:0;text-align:start;" +
  "text-shadow:none;white-space:normal;word-break:normal;overflow-wrap:anywhere;hyphens:manual;" +
  "writing-mode:horizontal-tb;color:#1f2328}" +
  // while loading: a typical poll card's height, unless this host's last height is known (space.js)
  ".wait{min-height:19.25em}" +
  ".skel{box-sizing:border-box;min-height:inherit}" +
  "[hidden]{display:none!important}" +
  ".poll{background:#fff;color:#1f2328;line-height:1.5;border:1px solid #d0d7de;border-top:.25em solid #0f4c81;" +
  "border-radius:.375em;padding:1em 1.25em 1.1em;box-shadow:0 1px 2px rgba(31,35,40,.06)}" +
  ".poll+.poll{margin-top:1em}" +
  "fieldset{border:0;margin:0;padding:0;min-width:0}" +
  "legend{padding:0;font-weight:700;font-size:1.125em;line-height:1.35}" +
  ".desc{margin:.4em 0 0;color:#57606a}" +
  ".opts{margin-top:.6em}" +
  ".opts:empty{display:none}" +
  ".opt{display:flex;align-items:center;gap:.65em;margin:.45em 0;padding:.55em .8em;border:1px solid #d0d7de;" +
  "border-radius:.375em;cursor:pointer}" +
  ".opt:hover{border-color:#0f4c81;background:#f3f7fb}" +
  ".opt:has(:checked){border-color:#0f4c81;background:#eef4fa}" +
  ".opt.off{cursor:not-allowed;color:#57606a;background:#f6f8fa;border-color:#d0d7de}" +
  "input{flex:none;width:1.1em;height:1.1em;margin:0;accent-color:#0f4c81;cursor:inherit}" +
  ":focus-visible{outline:.15em solid #0f4c81;outline-offset:.15em}" +
  ".live:focus{outline:0}" +
  ".hint{margin:0 0 .2em;font-size:.875em;color:#57606a}" +
  ".vote{font:inherit;font-weight:700;margin-top:.9em;padding:.55em 1.6em;border:0;border-radius:.375em;" +
  "background:#0f4c81;color:#fff;cursor:pointer}" +
  ".vote:hover{background:#0b3a63}" +
  ".vote:disabled{cursor:progress;background:#3d6a94}" +
  ".vote:focus-visible{outline-color:#1f2328}" +
  ".tag{display:inline-block;margin:.6em 0 0;padding:.1em .6em;border-radius:1em;font-size:.875em;" +
  "font-weight:700;background:#fbeaea;color:#8a1c1c}" +
  ".note{margin:.6em 0 0;color:#1a5e2a;font-weight:600}" +
  ".res{list-style:none;margin:.6em 0 0;padding:0}" +
  ".res li{margin:.7em 0 0}" +
  // a long label or big figures: the figures wrap onto a line of their own, at its end
  ".row{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;column-gap:1em}" +
  ".num{font-weight:700;margin-inline-start:auto;text-align:end}" +
  ".n{font-weight:400;font-size:.875em;color:#57606a;white-space:nowrap}" +
  ".bar{height:.5em;margin-top:.25em;border-radius:1em;background:#e6ebf1;overflow:hidden}" +
  ".bar span{display:block;height:100%;border-radius:1em;background:#0f4c81;transform-origin:left;" +
  "animation:psv-grow .6s ease-out;transition:width .6s ease-out}" +
  "@keyframes psv-grow{from{transform:scaleX(0)}}" +
  "@media (prefers-reduced-motion:reduce){.bar span{animation:none;transition:none}}" +
  ".count{margin:.8em 0 0;font-size:.9375em;color:#57606a}" +
  ".msg{margin:.8em 0 0;padding:.5em .8em;border-left:.25em solid #a40e26;background:#fff5f5;color:#8a0b20}" +
  ".msg:empty{display:none}" +
  ".retry{font:inherit;margin-inline-start:.5em;padding:.2em .8em;border:1px solid #8a0b20;border-radius:.375em;" +
  "background:#fff;color:#8a0b20;cursor:pointer}" +
  ".loading{margin:0;color:#57606a}";

var sheet = null;
function addStyle(root) {
  try { // a constructed sheet is not subject to the host page's CSP style-src
    if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.appendChild(el("style", "", CSS));
  }
}
