
// ---- api.js: where the service is (this script's own src) and the calls the widget makes ----
var SRC = /\/widget\.js([?#]|$)/;
var HERE = whereFrom();
var ORIGIN = HERE ? HERE.origin : ""; // the service's origin: the storage keys are per origin
var API = HERE ? HERE.origin + HERE.pathname.replace(/\/widget\.js$/, "") + "/api/v1" : null;

function whereFrom() {
  var script = document.currentScript;
  if (!script || !SRC.test(script.src)) {
    script = null;
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0 && !script; i--) {
      if (SRC.test(scripts[i].src)) script = scripts[i];
    }
  }
  return script ? new URL(script.src, location.href) : null;
}

// Resolves to {status, data, headers}; rejects only when the network fails. Only the headers given
// are sent: a read with none is a simple CORS GET (no preflight) that any cache may share.
// cache "no-cache": the browser revalidates what it holds (If-None-Match from its own HTTP cache,
// so still no preflight; a 304 comes back to us as the 200 it kept).
function request(method, path, headers, body, cache) {
  if (body) headers["Content-Type"] = "application/json";
  return fetch(API + path, {
    method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
    mode: "cors", credentials: "omit", cache: cache || "default"
  }).then(function (res) {
    return res.json().catch(function () { return {}; }).then(function (data) {
      return { status: res.status, data: data || {}, headers: res.headers };
    });
  });
}

function userHeaders(user) { return user ? { "X-Poll-User": user } : {}; }

// A voter token is only ever sent with a vote, never with a read. It costs a proof of work,
// which is done in the background as soon as a poll this browser may vote in is shown, so that
// the vote itself does not wait; a token close to its expiry is renewed the same way.
var pendingToken = null;
function ensureToken() {
  var token = getToken();
  if (token) return Promise.resolve(token);
  if (!pendingToken) {
    pendingToken = request("GET", "/voters/challenge", {}).then(function (r) {
      if (r.status !== 200) throw r;
      return solveChallenge(r.data);
    }).then(function (payload) {
      return request("POST", "/voters", {}, { altcha: payload });
    }).then(function (r) {
      pendingToken = null;
      if (r.status !== 201 || !r.data.voter_token) throw r;
      setToken(r.data.voter_token, Date.parse(r.data.expires_at));
      return r.data.voter_token;
    }, function (e) { pendingToken = null; throw e; });
  }
  return pendingToken;
}

// Start on the token now (errors are met again, and shown, when the reader votes).
function prepareToken() { ensureToken().then(null, function () {}); }

// The polls of an article (article != null) or one poll: {status, data, headers, polls}. Identity-free
// but for the receipts of this browser's votes in them (and X-Poll-User on sites that sign readers
// in). again: a live re-read, revalidated with the server rather than taken from the browser's cache.
// A voter's live re-read names the polls' voter passes instead of sending receipts: the same URL
// for every voter of those polls, which a CDN answers for all of them (signed-in readers excepted).
var passes = {}; // poll id -> its voter_pass, learned from reads and votes (this page view only)
function learnPasses(polls) {
  polls.forEach(function (p) { if (p && p.voter_pass) passes[p.id] = p.voter_pass; });
}

// The polls each article's last read on this page gave: their receipts go with its next read even
// before the article's list in storage has them (a vote in another tab: host.js).
var shownIn = {};

function readPolls(article, pollId, user, again) {
  var headers = userHeaders(user);
  var polls = article == null ? [pollId] : articlePolls(article).concat(shownIn[article] || []);
  var sent = receiptsFor(polls.filter(function (id, i) { return polls.indexOf(id) === i; }), user);
  var ids = Object.keys(sent).sort(function (a, b) { return a - b; });
  var query = "";
  if (again && !user && ids.length && ids.every(function (id) { return passes[id]; })) {
    query = "?voter_pass=" + ids.map(function (id) { return passes[id]; }).join(".");
    sent = {};
  } else if (ids.length) {
    headers["X-Poll-Receipt"] = ids.map(function (id) { return sent[id]; }).join(", ");
  }
  var path = (article != null
    ? "/articles/" + encodeURIComponent(article) + "/polls"
    : "/polls/" + encodeURIComponent(pollId)) + query;
  return request("GET", path, headers, null, again && "no-cache").then(function (r) {
    r.polls = r.status !== 200 ? [] : article != null ? r.data.polls || [] : [r.data];
    learnPasses(r.polls);
    r.polls.forEach(function (p) { // a receipt the server no longer takes (its secret changed)
      if (sent[p.id] && !p.has_voted) dropReceipt(p.id, sent[p.id]);
    });
    if (r.status === 200 && article != null) {
      shownIn[article] = r.polls.map(function (p) { return p.id; });
      learnArticle(article, r.polls);
    }
    return r;
  });
}

// A ballot, with this browser's voter token; its receipt (201, or 409 already_voted) is kept.
function castVote(pollId, optionIds, user) {
  return ensureToken().then(function (token) {
    var headers = userHeaders(user);
    headers["X-Voter-Token"] = token;
    return request("POST", "/polls/" + pollId + "/votes", headers, { option_ids: optionIds });
  }).then(function (r) {
    var d = r.data;
    if (d.poll) learnPasses([d.poll]);
    if (d.receipt && d.poll && (r.status === 201 || d.error === "already_voted")) keepReceipt(d.poll, d.receipt, user);
    return r;
  });
}
