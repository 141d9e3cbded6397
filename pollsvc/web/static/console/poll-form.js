// The poll form of the console: new and edit, option rows, schedule in local time, the API's
// validation errors next to the fields they concern, fields locked by votes.

import { $, $$, ApiError, api, errorText, h, isoToLocal, localToIso, t } from "./common.js";

const MAX_OPTIONS = 20;
const FIELDS = ["article_id", "question", "description", "max_choices", "opens_at", "closes_at",
  "results_visibility", "dedup", "status"];
const INPUT_STATUS = { draft: "draft", scheduled: "open", open: "open", closed: "closed", archived: "closed" };

// The API speaks English; the usual messages are translated, the rest shown as they come.
const SERVER_MESSAGES = {
  vi: [
    [/^Shorter than minimum length|^Missing data for required field|^Field may not be null/, "Không được để trống."],
    [/^Longer than maximum length (\d+)/, "Dài quá $1 ký tự."],
    [/^Length must be between (\d+) and (\d+)/, "Cần từ $1 đến $2 ký tự (không tính khoảng trắng đầu cuối)."],
    [/^1-128 characters of/, "Mã bài viết gồm 1-128 ký tự A-Z a-z 0-9 . _ : -, bắt đầu bằng chữ hoặc số."],
    [/^Option labels must be unique/, "Các lựa chọn không được trùng nhau."],
    [/^Give between 2 and (\d+) options/, "Cần từ 2 đến $1 lựa chọn."],
    [/^Must be at most the number of options/, "Không được lớn hơn số lựa chọn."],
    [/^Must be after opens_at/, "Phải sau thời điểm mở."],
    [/^Must be in the future/, "Phải là thời điểm trong tương lai."],
    [/^The poll's closes_at has passed/, "Thời điểm đóng đã qua: hãy chọn thời điểm đóng muộn hơn để mở lại."],
    [/^Must be greater than or equal to 1/, "Phải từ 1 trở lên."],
    [/^Not a valid integer/, "Phải là một số nguyên."],
  ],
};

function localMessage(message) {
  for (const [pattern, text] of SERVER_MESSAGES[document.body.dataset.lang] || []) {
    const match = pattern.exec(message);
    if (match) return text.replace(/\$(\d)/g, (_, i) => match[i]);
  }
  return message;
}

export class PollForm {
  constructor({ onSaved, onCancel }) {
    this.form = $("#poll-form");
    this.rows = $("#option-rows");
    this.poll = null;
    this.onSaved = onSaved;
    $("#schedule-help").textContent = t("schedule_help", {
      tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    });
    $("#add-option").addEventListener("click", () => {
      this.addOption("");
      this.rows.lastElementChild.querySelector("input").focus();
    });
    $("#form-cancel").addEventListener("click", onCancel);
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
  }

  /** Fills the form: empty for a new poll, or with `poll` (admin view) to edit it. */
  open(poll = null) {
    this.poll = poll;
    this.form.reset();
    this.clearErrors();
    this.rows.replaceChildren();
    const heading = $("#editor-heading");
    heading.textContent = poll ? t("form_edit", { id: poll.id }) : t("form_new");
    $("#form-submit").textContent = poll ? t("save") : t("create_poll");
    const field = (name) => this.form.elements[name];
    if (poll) {
      field("article_id").value = poll.article_id;
      field("question").value = poll.question;
      field("description").value = poll.description || "";
      field("max_choices").value = poll.max_choices;
      field("opens_at").value = isoToLocal(poll.opens_at);
      field("closes_at").value = isoToLocal(poll.closes_at);
      field("results_visibility").value = poll.results_visibility;
      field("dedup").value = poll.dedup;
      field("status").value = INPUT_STATUS[poll.status];
      poll.options.forEach((option) => this.addOption(option.label));
    } else {
      this.addOption("");
      this.addOption("");
    }
    this.lock(Boolean(poll && poll.participants > 0));
    heading.focus();
  }

  lock(locked) {
    this.locked = locked;
    for (const name of ["max_choices", "dedup"]) {
      this.form.elements[name].disabled = locked;
      $(`#lock-${name}`).hidden = !locked;
    }
    $("#lock-options").hidden = !locked;
    $$("input, button", this.rows).forEach((el) => { el.disabled = locked; });
    $("#f-status option[value=draft]").disabled = locked;
    this.renumber();
  }

  addOption(label) {
    const input = h("input", { name: "option", maxlength: 200, value: label, autocomplete: "off" });
    const error = h("p", { class: "field-error", role: "alert" });
    const remove = h("button", { type: "button", class: "btn btn-ghost btn-small" }, t("remove"));
    const row = h("li", { class: "option-row" },
      h("label"), h("div", { class: "option-input" }, input, remove), error);
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      this.renumber();
      next?.querySelector("input")?.focus();
    });
    this.rows.append(row);
    this.renumber();
  }

  /** Labels, ids and the add / remove buttons follow the number of rows. */
  renumber() {
    const rows = [...this.rows.children];
    rows.forEach((row, i) => {
      const [label, box, error] = row.children;
      const [input, remove] = box.children;
      input.id = `f-option-${i}`;
      error.id = `err-options-${i}`;
      label.htmlFor = input.id;
      label.textContent = t("option_n", { n: i + 1 });
      input.setAttribute("aria-describedby", this.locked ? `lock-options ${error.id}` : error.id);
      remove.setAttribute("aria-label", t("remove_option", { n: i + 1 }));
      remove.disabled = this.locked || rows.length <= 2;
    });
    $("#add-option").disabled = this.locked || rows.length >= MAX_OPTIONS;
  }

  values() {
    const el = this.form.elements;
    const max = Number.parseInt(el.max_choices.value, 10);
    return {
      article_id: el.article_id.value.trim(),
      question: el.question.value.trim(),
      description: el.description.value.trim() || null,
      options: $$("input", this.rows).map((input) => ({ label: input.value.trim() })),
      max_choices: Number.isNaN(max) ? el.max_choices.value : max,
      opens_at: localToIso(el.opens_at.value),
      closes_at: localToIso(el.closes_at.value),
      results_visibility: el.results_visibility.value,
      dedup: el.dedup.value,
      status: el.status.value,
    };
  }

  /** For an edit: only what changed (so a poll with votes keeps its locked fields out of the request). */
  changes(values) {
    const poll = this.poll;
    const same = {
      article_id: values.article_id === poll.article_id,
      question: values.question === poll.question,
      description: values.description === (poll.description || null),
      options: JSON.stringify(values.options.map((o) => o.label)) === JSON.stringify(poll.options.map((o) => o.label)),
      max_choices: values.max_choices === poll.max_choices,
      opens_at: this.form.elements.opens_at.value === isoToLocal(poll.opens_at),
      closes_at: this.form.elements.closes_at.value === isoToLocal(poll.closes_at),
      results_visibility: values.results_visibility === poll.results_visibility,
      dedup: values.dedup === poll.dedup,
      status: values.status === INPUT_STATUS[poll.status],
    };
    return Object.fromEntries(Object.entries(values).filter(([name]) => !same[name]));
  }

  async submit() {
    this.clearErrors();
    const values = this.values();
    const button = $("#form-submit");
    button.disabled = true;
    try {
      let saved;
      if (this.poll) {
        const body = this.changes(values);
        saved = Object.keys(body).length
          ? await api(`/polls/${this.poll.id}`, { method: "PATCH", body })
          : this.poll;
      } else {
        saved = await api("/polls", { method: "POST", body: values });
      }
      this.onSaved(saved, this.poll ? t("msg_saved") : t("msg_created"));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.showErrors(error);
    } finally {
      button.disabled = false;
    }
  }

  clearErrors() {
    $$(".field-error", this.form).forEach((el) => { el.textContent = ""; });
    $$("[aria-invalid]", this.form).forEach((el) => el.removeAttribute("aria-invalid"));
    const summary = $("#form-error");
    summary.hidden = true;
    summary.textContent = "";
  }

  /** Each `errors` entry next to its field (`options.1.label` under option 2); the rest on top. */
  showErrors(error) {
    const unplaced = [];
    let first = null;
    for (const [path, messages] of Object.entries(error.errors)) {
      const text = messages.map(localMessage).join(" ");
      const [name, index] = path.split(".");
      let target = null;
      let input = null;
      if (name === "options" && index !== undefined) {
        target = $(`#err-options-${index}`);
        input = $(`#f-option-${index}`);
      } else if (FIELDS.includes(name) || name === "options") {
        target = $(`#err-${name}`);
        input = name === "options" ? $("#f-option-0") : this.form.elements[name];
      }
      if (!target) { unplaced.push(`${path}: ${text}`); continue; }
      target.textContent = [target.textContent, text].filter(Boolean).join(" ");
      if (input && name !== "options") input.setAttribute("aria-invalid", "true");
      if (input && index !== undefined) input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
    const summary = $("#form-error");
    summary.textContent = error.code === "validation_error"
      ? [t("form_invalid"), ...unplaced].join(" ")
      : errorText(error);
    summary.hidden = false;
    (first || summary).focus?.();
    if (!first) summary.scrollIntoView({ block: "nearest" });
  }
}
