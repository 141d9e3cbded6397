
// ---- view.js: one poll: its question and choices, voting, results ----
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
    if (p.status === "open" && !p.has_voted) { renderChoices(p); prepareToken(); }
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
    castVote(current.id, ids, ctx.user)
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
