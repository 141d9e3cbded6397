
// ---- storage.js: what this browser remembers, in the host page's localStorage (never cookies) ----
// Keys are per service origin. Where storage is blocked (or full), memory keeps it for this page view.
var MAX_RECEIPTS = 200; // polls remembered; the oldest (smallest ids) go first
var MAX_SENT = 20; // receipts a read carries (the server reads no more)
var MAX_ARTICLES = 200;
var MAX_ARTICLE_POLLS = 50;
var RECEIPT = /^[0-9A-Za-z_.-]{1,200}$/; // what may go into a header
var memory = {};

function storageKey(kind) { return "pollsvc:" + kind + ":" + ORIGIN; }
function recall(kind) {
  var key = storageKey(kind);
  if (Object.prototype.hasOwnProperty.call(memory, key)) return memory[key];
  try { return localStorage.getItem(key); } catch (e) { return null; }
}
function remember(kind, value) {
  var key = storageKey(kind);
  try {
    if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value);
    delete memory[key];
  } catch (e) { memory[key] = value == null ? null : value; }
}
function recallMap(kind) { return parseMap(recall(kind)); }
function parseMap(text) { // what is stored may have been garbled: anything but an object is {}
  try {
    var map = JSON.parse(text || "{}");
    return map && typeof map === "object" && !Array.isArray(map) ? map : {};
  } catch (e) { return {}; }
}
function rememberMap(kind, map) { remember(kind, JSON.stringify(map)); }

// ---- voter identity: a server-signed token, sent only with votes, kept with its expiry ----
var RENEW_BEFORE = 3600 * 1000; // a token this close to its expiry is renewed before it is used
function getToken() {
  var held = (recall("voter") || "").split(" ");
  return held[0] && +held[1] - Date.now() > RENEW_BEFORE ? held[0] : null;
}
function setToken(token, expiresAt) { remember("voter", token ? token + " " + (expiresAt || 0) : null); }

// ---- receipts of this browser's votes: {"<poll id>": "<receipt>"} ----
// A receipt of a signed-in reader's vote (kind "u") is kept as [receipt, user id] and sent only
// along that same reader's X-Poll-User: on a shared browser it must not speak for another reader.
function userId(user) { return user ? user.split(":")[0] : ""; }

function receiptsFor(ids, user) {
  var held = recallMap("receipts"), sent = {}, bad = [], n = 0;
  ids.forEach(function (id) {
    var r = held[id];
    if (r == null) return;
    if (Array.isArray(r)) r = user && r[1] === userId(user) ? r[0] : "";
    if (typeof r !== "string" || (r && !RECEIPT.test(r))) bad.push(id);
    else if (r && n < MAX_SENT) { sent[id] = r; n++; }
  });
  if (bad.length) {
    bad.forEach(function (id) { delete held[id]; });
    rememberMap("receipts", held);
  }
  return sent;
}

function keepReceipt(poll, receipt, user) {
  if (!RECEIPT.test(receipt)) return;
  var held = recallMap("receipts");
  held[poll.id] = /^\d+\.u\./.test(receipt) ? [receipt, userId(user)] : receipt;
  var ids = Object.keys(held).sort(function (a, b) { return (+a || 0) - (+b || 0); });
  ids.slice(0, Math.max(0, ids.length - MAX_RECEIPTS)).forEach(function (id) { delete held[id]; });
  rememberMap("receipts", held);
  learnArticle(poll.article_id, [poll], true);
}

function dropReceipt(id, receipt) {
  var held = recallMap("receipts"), r = held[id];
  if (r === receipt || (Array.isArray(r) && r[0] === receipt)) {
    delete held[id];
    rememberMap("receipts", held);
  }
}

// ---- which polls each article showed: {"<article id>": [poll ids]} ----
// Learnt from article reads and votes; kept only for articles with a poll this browser holds a
// receipt for (for the others, a read has nothing to send).
function articlePolls(article) {
  var ids = recallMap("articles")[article];
  return Array.isArray(ids) ? ids : [];
}

function learnArticle(article, polls, add) {
  if (article == null) return;
  var map = recallMap("articles"), held = recallMap("receipts");
  var old = map[article], ids = polls.map(function (p) { return p.id; });
  function useful(list) {
    return Array.isArray(list) && list.some(function (id) { return held[id] != null; });
  }
  if (add && Array.isArray(old)) ids = old.filter(function (id) { return ids.indexOf(id) < 0; }).concat(ids);
  ids = ids.slice(-MAX_ARTICLE_POLLS);
  if (JSON.stringify(old) === JSON.stringify(ids) || (!old && !useful(ids))) return;
  map[article] = ids;
  var names = Object.keys(map).filter(function (a) {
    if (useful(map[a])) return true;
    delete map[a];
    return false;
  });
  names.slice(0, Math.max(0, names.length - MAX_ARTICLES)).forEach(function (a) { delete map[a]; });
  rememberMap("articles", map);
}

// ---- how tall each host element's polls last were: {"a:<article id>" or "p:<poll id>": px} ----
// So that the next visit keeps exactly that much room while they load (space.js); newest last.
var MAX_HEIGHTS = 100;
function recallHeight(key) {
  var h = recallMap("heights")[key];
  return typeof h === "number" && h >= 0 && h < 1e5 ? h : null;
}
function rememberHeight(key, h) {
  var map = recallMap("heights");
  if (map[key] === h) return;
  delete map[key];
  map[key] = h;
  var keys = Object.keys(map); // "a:…"/"p:…" are not integers: kept in the order set
  keys.slice(0, Math.max(0, keys.length - MAX_HEIGHTS)).forEach(function (k) { delete map[k]; });
  rememberMap("heights", map);
}
