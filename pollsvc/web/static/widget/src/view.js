
// ---- view.js: one poll: its question and choices, voting, results ----
// The same poll may be shown more than once on a page (an article's widget and the poll's own, say):
// the answer to a vote in one of them, the poll as this voter now sees it, goes to them all.
var peers = {}; // "<poll id> <signed-in reader>" -> the views of that poll for that reader

function inStep(p, user, from) {
  var key = p.id + " " + user;
  peers[key] = (peers[key] || []).filter(function (v) { return v.node.isConnected; });
  peers[key].forEach(function (v) { if (v !== from) v.update(p); });
}

// Returns {node, update}: update(poll) takes a later read of the same poll (live.js, a vote in
// another view of it).
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
  var list = null; // the results shown, if any
  var count; // the participant line

  function say(text) { message.textContent = text; }

  function texts(p) {
    legend.textContent = p.question;
    desc.textContent = p.description || "";
    desc.hidden = !p.description;
  }

  // keep: a live re-read redraws the poll: the reader's unsent choice (and focus) survive it
  function show(p, note, moveFocus, keep) {
    current = p;
    var active = form.getRootNode().activeElement;
    var hadFocus = form.contains(active);
    var checked = keep ? Array.prototype.map.call(options.querySelectorAll("input:checked"), function (i) { return i.value; }) : [];
    texts(p);
    [options, live, actions].forEach(clear);
    list = null;
    fieldset.removeAttribute("aria-describedby");
    message.textContent = "";
    if (p.status === "open" && !p.has_voted) { renderChoices(p); prepareToken(); }
    if (p.status === "closed") live.appendChild(el("p", "tag", t.closed));
    if (!note && p.has_voted && !p.results_visible && p.status !== "closed") note = t.later;
    if (note) live.appendChild(el("p", "note", note));
    if (p.results_visible) live.appendChild(list = results(p));
    count = el("p", "count", people(p));
    live.append(count, message);
    Array.prototype.forEach.call(options.querySelectorAll("input"), function (i) {
      if (checked.indexOf(i.value) >= 0) i.checked = true;
      if (keep && hadFocus && active.value === i.value) i.focus();
    });
    if (checked.length) limit();
    if (moveFocus && hadFocus) live.focus();
  }

  function people(p) { return numbered(ctx, t.people, p.participants || 0); }

  // What decides the poll's layout; anything else (counts, texts) is updated where it stands.
  function shape(p) {
    return JSON.stringify([p.status, p.has_voted, p.results_visible, p.max_choices, p.options.map(function (o) {
      return [o.id, o.label];
    })]);
  }

  function update(p) {
    if (current.has_voted && !p.has_voted) return; // read before the vote this view just made
    if (shape(p) !== shape(current)) return show(p, "", false, true);
    current = p;
    texts(p);
    // Figures that move every few seconds are not read out each time (aria-live off on them);
    // the reader finds them where they are.
    count.textContent = people(p);
    count.setAttribute("aria-live", "off");
    if (list) { figures(list, p); list.setAttribute("aria-live", "off"); }
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
      var hint = el("p", "hint", numbered(ctx, t.max, p.max_choices));
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
    limit();
  });
  function limit() {
    if (current.max_choices <= 1) return;
    var boxes = options.querySelectorAll("input");
    var checked = options.querySelectorAll("input:checked").length;
    Array.prototype.forEach.call(boxes, function (box) {
      box.disabled = !box.checked && checked >= current.max_choices;
      box.parentNode.classList.toggle("off", box.disabled);
    });
  }

  function results(p) {
    var ul = el("ul", "res");
    p.options.forEach(function (o) {
      var item = el("li");
      var row = el("div", "row");
      row.append(el("span", "", o.label), el("span", "num"));
      var bar = el("div", "bar");
      bar.setAttribute("aria-hidden", "true");
      bar.appendChild(el("span"));
      item.append(row, bar);
      ul.appendChild(item);
    });
    figures(ul, p);
    return ul;
  }

  // Each option's percent, votes and bar, written into the list results() made for the same options.
  function figures(ul, p) {
    p.options.forEach(function (o, i) {
      var item = ul.children[i];
      var num = item.querySelector(".num");
      num.textContent = ctx.percent.format((o.percent || 0) / 100) + " ";
      num.appendChild(el("span", "n", "(" + numbered(ctx, t.votes, o.votes || 0) + ")"));
      item.querySelector(".bar span").style.width = Math.min(100, Math.max(0, o.percent || 0)) + "%";
    });
  }

  function submit(retried) {
    var ids = Array.prototype.map.call(options.querySelectorAll("input:checked"), function (i) { return +i.value; });
    if (!ids.length) return say(t.pick);
    var button = actions.querySelector("button");
    button.disabled = true;
    button.textContent = t.sending;
    castVote(current.id, ids, ctx.user)
      .then(function (r) { return r; }, function (e) { return e && e.status ? e : null; })
      .then(function (r) {
        button.disabled = false;
        button.textContent = t.vote;
        var d = r ? r.data : {};
        if (!r) return say(t.voteError);
        if (r.status === 201 || (r.status === 409 && d.poll)) { // 409: already voted, or closed
          show(d.poll, r.status === 201 ? t.thanks : d.error === "already_voted" ? t.already : "", true);
          return inStep(d.poll, ctx.user, self);
        }
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
  var self = { node: form, update: update };
  var key = poll.id + " " + ctx.user;
  (peers[key] = peers[key] || []).push(self);
  return self;
}
