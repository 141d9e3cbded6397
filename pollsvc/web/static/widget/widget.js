/*! pollsvc widget. Embed:
 *   <div data-pollsvc-article="ARTICLE_ID" data-lang="vi"></div>   (or data-pollsvc-poll="ID")
 *   <script src="https://POLLS.EXAMPLE/widget.js" async></script>
 * Each poll renders in an open shadow root. Data is only ever inserted as text.
 */
(function () {
  "use strict";
  if (window.__pollsvcWidget) return; // the snippet pasted twice on one page
  window.__pollsvcWidget = true;

  var SELECTOR = "[data-pollsvc-article],[data-pollsvc-poll]";
  var SRC = /\/widget\.js([?#]|$)/;

  // ---- where the API is: this script's own src ----
  var script = document.currentScript;
  if (!script || !SRC.test(script.src)) {
    script = null;
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0 && !script; i--) {
      if (SRC.test(scripts[i].src)) script = scripts[i];
    }
  }
  if (!script) return;
  var src = new URL(script.src, location.href);
  var API = src.origin + src.pathname.replace(/\/widget\.js$/, "") + "/api/v1";
  var TOKEN_KEY = "pollsvc:voter:" + src.origin;

  var TEXT = {
    vi: {
      locale: "vi-VN",
      vote: "Bình chọn",
      sending: "Đang gửi…",
      people: "{n} người đã tham gia bình chọn",
      votes: ["{n} phiếu", "{n} phiếu"],
      closed: "Bình chọn đã kết thúc",
      loading: "Đang tải bình chọn…",
      loadError: "Không tải được bình chọn. Vui lòng kiểm tra kết nối mạng.",
      voteError: "Chưa gửi được bình chọn. Vui lòng kiểm tra kết nối mạng rồi thử lại.",
      retry: "Thử lại",
      rate: "Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại.",
      thanks: "Cảm ơn bạn đã tham gia bình chọn.",
      already: "Bạn đã bình chọn cho câu hỏi này.",
      pick: "Vui lòng chọn ít nhất một phương án.",
      max: "Chọn tối đa {n} phương án.",
      later: "Kết quả sẽ được công bố khi bình chọn kết thúc.",
      notOpen: "Bình chọn chưa bắt đầu.",
      gone: "Bình chọn này không còn tồn tại.",
      login: "Vui lòng đăng nhập để bình chọn."
    },
    en: {
      locale: "en-US",
      vote: "Vote",
      sending: "Sending…",
      people: "{n} people have voted",
      votes: ["{n} vote", "{n} votes"],
      closed: "Voting has ended",
      loading: "Loading poll…",
      loadError: "The poll could not be loaded. Please check your connection.",
      voteError: "Your vote could not be sent. Please check your connection and try again.",
      retry: "Try again",
      rate: "Too many attempts. Please wait a moment and try again.",
      thanks: "Thank you for voting.",
      already: "You have already voted in this poll.",
      pick: "Please choose at least one option.",
      max: "Choose up to {n} options.",
      later: "Results will be published when voting ends.",
      notOpen: "This poll has not opened yet.",
      gone: "This poll no longer exists.",
      login: "Please sign in to vote."
    }
  };

  var CSS =
    ":host{display:block;margin:1.5em 0;text-align:start}" +
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
    ".row{display:flex;justify-content:space-between;align-items:baseline;gap:1em}" +
    ".num{white-space:nowrap;font-weight:700}" +
    ".n{font-weight:400;font-size:.875em;color:#57606a}" +
    ".bar{height:.5em;margin-top:.25em;border-radius:1em;background:#e6ebf1;overflow:hidden}" +
    ".bar span{display:block;height:100%;border-radius:1em;background:#0f4c81;transform-origin:left;" +
    "animation:psv-grow .6s ease-out}" +
    "@keyframes psv-grow{from{transform:scaleX(0)}}" +
    "@media (prefers-reduced-motion:reduce){.bar span{animation:none}}" +
    ".count{margin:.8em 0 0;font-size:.9375em;color:#57606a}" +
    ".msg{margin:.8em 0 0;padding:.5em .8em;border-left:.25em solid #a40e26;background:#fff5f5;color:#8a0b20}" +
    ".msg:empty{display:none}" +
    ".retry{font:inherit;margin-left:.5em;padding:.2em .8em;border:1px solid #8a0b20;border-radius:.375em;" +
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

  // ---- small helpers: text only, never HTML ----
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fill(template, n) { return template.replace("{n}", n); }

  // ---- voter identity: a server-signed token in the host page's localStorage, never cookies ----
  var memoryToken = null;
  var pendingToken = null;
  function getToken() {
    try { return localStorage.getItem(TOKEN_KEY) || memoryToken; } catch (e) { return memoryToken; }
  }
  function setToken(token) {
    memoryToken = token;
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage blocked: keep it in memory for this page view */ }
  }
  function ensureToken() {
    var token = getToken();
    if (token) return Promise.resolve(token);
    if (!pendingToken) {
      pendingToken = request("POST", "/voters").then(function (r) {
        pendingToken = null;
        if (r.status !== 201 || !r.data.voter_token) throw r;
        setToken(r.data.voter_token);
        return r.data.voter_token;
      }, function (e) { pendingToken = null; throw e; });
    }
    return pendingToken;
  }

  // Resolves to {status, data}; rejects only when the network fails.
  function request(method, path, user, body) {
    var headers = {};
    var token = getToken();
    if (token && path !== "/voters") headers["X-Voter-Token"] = token;
    if (user) headers["X-Poll-User"] = user;
    if (body) headers["Content-Type"] = "application/json";
    return fetch(API + path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      mode: "cors", credentials: "omit"
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { status: res.status, data: data || {} };
      });
    });
  }

  // ---- one host element: its polls inside a shadow root ----
  var mounted = typeof WeakSet === "function" ? new WeakSet() : null;

  function mount(host) {
    if (!mounted || mounted.has(host)) return;
    mounted.add(host);
    var root;
    try { root = host.attachShadow({ mode: "open" }); } catch (e) { return; }
    addStyle(root);
    var t = TEXT[/^en/i.test(host.getAttribute("data-lang") || "") ? "en" : "vi"];
    var ctx = {
      t: t,
      user: host.getAttribute("data-pollsvc-user") || "",
      number: new Intl.NumberFormat(t.locale),
      percent: new Intl.NumberFormat(t.locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })
    };
    var box = el("div", "psv");
    box.lang = t.locale.slice(0, 2);
    root.appendChild(box);
    load(host, box, ctx);
  }

  function load(host, box, ctx) {
    var article = host.getAttribute("data-pollsvc-article");
    var path = article != null
      ? "/articles/" + encodeURIComponent(article) + "/polls"
      : "/polls/" + encodeURIComponent(host.getAttribute("data-pollsvc-poll") || "");
    clear(box);
    var status = el("p", "loading", ctx.t.loading);
    status.setAttribute("role", "status");
    box.appendChild(status);
    request("GET", path, ctx.user).then(function (r) { return r; }, function () { return null; })
      .then(function (r) {
        clear(box);
        if (r && r.status === 200) {
          var polls = article != null ? r.data.polls || [] : [r.data];
          polls.forEach(function (poll) { box.appendChild(pollView(poll, ctx)); });
        } else if (!r || r.status === 429 || r.status >= 500) { // 404 and 422: nothing to show
          var msg = el("p", "msg", r && r.status === 429 ? ctx.t.rate : ctx.t.loadError);
          msg.setAttribute("role", "alert");
          var retry = el("button", "retry", ctx.t.retry);
          retry.type = "button";
          retry.addEventListener("click", function () { load(host, box, ctx); });
          msg.appendChild(retry);
          box.appendChild(msg);
        }
      });
  }

  // ---- one poll ----
  function pollView(poll, ctx) {
    var t = ctx.t;
    var form = el("form", "poll");
    form.noValidate = true;
    var fieldset = el("fieldset");
    var legend = el("legend");
    var desc = el("p", "desc");
    var options = el("div", "opts");
    var live = el("div", "live"); // results, participants and messages are announced from here
    live.setAttribute("aria-live", "polite");
    live.tabIndex = -1;
    var actions = el("div");
    var message = el("p", "msg");
    fieldset.append(legend, desc, options, live, actions);
    form.appendChild(fieldset);
    var current = poll;

    function say(text) { message.textContent = text; }

    function show(p, note, moveFocus) {
      current = p;
      var hadFocus = form.contains(form.getRootNode().activeElement);
      legend.textContent = p.question;
      desc.textContent = p.description || "";
      desc.hidden = !p.description;
      [options, live, actions].forEach(clear);
      fieldset.removeAttribute("aria-describedby");
      message.textContent = "";
      if (p.status === "open" && !p.has_voted) renderChoices(p);
      if (p.status === "closed") live.appendChild(el("p", "tag", t.closed));
      if (!note && p.has_voted && !p.results_visible && p.status !== "closed") note = t.later;
      if (note) live.appendChild(el("p", "note", note));
      if (p.results_visible) live.appendChild(results(p));
      live.append(el("p", "count", fill(t.people, ctx.number.format(p.participants || 0))), message);
      if (moveFocus && hadFocus) live.focus();
    }

    function renderChoices(p) {
      var multi = p.max_choices > 1;
      var name = "psv-" + p.id;
      p.options.forEach(function (o) {
        var label = el("label", "opt");
        var input = el("input");
        input.type = multi ? "checkbox" : "radio";
        input.name = name;
        input.value = String(o.id);
        label.append(input, el("span", "", o.label));
        options.appendChild(label);
      });
      if (multi) {
        var hint = el("p", "hint", fill(t.max, ctx.number.format(p.max_choices)));
        hint.id = name + "-hint";
        fieldset.setAttribute("aria-describedby", hint.id);
        options.insertBefore(hint, options.firstChild);
      }
      var button = el("button", "vote", t.vote);
      button.type = "submit";
      actions.appendChild(button);
    }

    // max_choices: once the limit is reached, the other boxes are disabled
    options.addEventListener("change", function () {
      message.textContent = "";
      if (current.max_choices <= 1) return;
      var boxes = options.querySelectorAll("input");
      var checked = options.querySelectorAll("input:checked").length;
      Array.prototype.forEach.call(boxes, function (box) {
        box.disabled = !box.checked && checked >= current.max_choices;
        box.parentNode.classList.toggle("off", box.disabled);
      });
    });

    function results(p) {
      var list = el("ul", "res");
      p.options.forEach(function (o) {
        var votes = o.votes || 0;
        var item = el("li");
        var row = el("div", "row");
        var num = el("span", "num", ctx.percent.format((o.percent || 0) / 100) + " ");
        num.appendChild(el("span", "n", "(" + fill(t.votes[votes === 1 ? 0 : 1], ctx.number.format(votes)) + ")"));
        row.append(el("span", "", o.label), num);
        var bar = el("div", "bar");
        bar.setAttribute("aria-hidden", "true");
        var fillBar = el("span");
        fillBar.style.width = Math.min(100, Math.max(0, o.percent || 0)) + "%";
        bar.appendChild(fillBar);
        item.append(row, bar);
        list.appendChild(item);
      });
      return list;
    }

    function submit(retried) {
      var ids = Array.prototype.map.call(options.querySelectorAll("input:checked"), function (i) { return +i.value; });
      if (!ids.length) return say(t.pick);
      var button = actions.querySelector("button");
      button.disabled = true;
      button.textContent = t.sending;
      ensureToken()
        .then(function () { return request("POST", "/polls/" + current.id + "/votes", ctx.user, { option_ids: ids }); })
        .then(function (r) { return r; }, function (e) { return e && e.status ? e : null; })
        .then(function (r) {
          button.disabled = false;
          button.textContent = t.vote;
          var d = r ? r.data : {};
          if (!r) return say(t.voteError);
          if (r.status === 201) return show(d.poll, t.thanks, true);
          if (r.status === 409 && d.poll) return show(d.poll, d.error === "already_voted" ? t.already : "", true);
          if (d.error === "invalid_voter_token" && !retried) { setToken(null); return submit(true); }
          if (r.status === 429) return say(t.rate);
          if (d.error === "poll_not_open") return say(t.notOpen);
          if (d.error === "invalid_user_assertion") return say(t.login);
          if (r.status === 404) return say(t.gone);
          if (d.error === "invalid_selection") return say(t.pick);
          say(t.voteError);
        });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = actions.querySelector("button");
      if (button && !button.disabled) submit(false);
    });
    show(poll);
    return form;
  }

  // ---- every matching element, now and later ----
  var scheduled = false;
  function scan() {
    scheduled = false;
    Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), mount);
  }
  scan();
  if (window.MutationObserver) {
    new MutationObserver(function () {
      if (!scheduled) { scheduled = true; Promise.resolve().then(scan); }
    }).observe(document.documentElement, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["data-pollsvc-article", "data-pollsvc-poll"]
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
