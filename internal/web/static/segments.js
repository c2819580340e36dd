// Pivand: the segment rule editor. The form holds the condition tree as
// JSON in the rules field, which is what is saved; without this file that
// field is edited by hand. With it, the field is hidden and the tree is
// edited as rows: a field, an operator that fits the field's type, and a
// value input that fits both; groups match all or any of their rows and
// nest. Every change writes the JSON back and, after a pause, asks
// /segments/preview for the count and a sample of the people matching,
// and shows the problems of each row beside it.
(function () {
  "use strict";

  var MAX_DEPTH = 5;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "class") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  var uid = 0; // checkbox ids, unique across the editors of a page

  function init() {
    if (!window.fetch || !window.JSON) return;
    document.querySelectorAll("[data-segment-editor]").forEach(setup);
  }

  // setup turns one editor on. A page may hold several (the workflow
  // builder's conditions and branches): each names its JSON field by id
  // in data-rules-field and has no live count; the segment form's one
  // editor uses the form's rules field and its preview.
  function setup(box) {
    var form = box.closest("form");
    var own = box.getAttribute("data-rules-field");
    var textarea = own ? document.getElementById(own) : form.querySelector("textarea[name=rules]");
    if (!textarea) return;
    var jsonField = own ? textarea.closest("[data-rules-json]") : form.querySelector("[data-rules-json]");
    var preview = own ? null : form.querySelector("[data-segment-preview]");
    var cfg;
    try { cfg = JSON.parse(box.getAttribute("data-config")); } catch (e) { return; }
    var tree;
    try { tree = JSON.parse(textarea.value || "{}"); } catch (e) { return; } // leave the JSON to the user
    if (!tree || typeof tree !== "object" || Array.isArray(tree)) return;
    tree.match = tree.match || "all";
    tree.conditions = tree.conditions || [];

    var fields = {};
    cfg.fields.forEach(function (f) { fields[f.name] = f; });
    var errors = {};
    (cfg.errors || []).forEach(function (e) { addError(errors, e); });
    var timer = null;
    var seq = 0;

    function T(k) { return cfg.text[k] || k; }

    function addError(into, e) {
      // "conditions[1].value" belongs to the row conditions[1].
      var p = e.path || "";
      var m = p.match(/^(.*conditions\[\d+\])(\.(field|op|value))?$/);
      var node = m ? m[1] : p.replace(/\.?(match|conditions)$/, "");
      (into[node] = into[node] || []).push(e.message);
    }

    function isGroup(n) { return !!n.match || (!n.field && Array.isArray(n.conditions)); }

    function childPath(path, i) { return (path ? path + "." : "") + "conditions[" + i + "]"; }

    function errorBox(path) {
      var msgs = errors[path];
      var p = el("p", { "class": "field-error", "data-error-for": path });
      if (msgs && msgs.length) p.textContent = msgs.join(cfg.text.sep || " · ");
      else p.hidden = true;
      return p;
    }

    function select(label, options, value, onchange) {
      var s = el("select", { "aria-label": label });
      options.forEach(function (o) {
        if (o.group) {
          var g = el("optgroup", { label: o.group });
          o.options.forEach(function (x) {
            var opt = el("option", { value: x.value, text: x.label });
            if (x.value === value) opt.selected = true;
            g.appendChild(opt);
          });
          s.appendChild(g);
          return;
        }
        var opt = el("option", { value: o.value, text: o.label });
        if (o.value === value) opt.selected = true;
        s.appendChild(opt);
      });
      s.addEventListener("change", function () { onchange(s.value); });
      return s;
    }

    function input(label, value, onchange, attrs) {
      var a = { type: "text", "aria-label": label, value: value == null ? "" : String(value) };
      Object.keys(attrs || {}).forEach(function (k) { a[k] = attrs[k]; });
      var i = el("input", a);
      i.addEventListener("input", function () { onchange(i.value); });
      return i;
    }

    function fieldOptions() {
      var groups = [];
      var seen = {};
      cfg.fields.forEach(function (f) {
        if (!seen[f.group]) {
          seen[f.group] = { group: cfg.groups[f.group] || f.group, options: [] };
          groups.push(seen[f.group]);
        }
        seen[f.group].options.push({ value: f.name, label: f.label });
      });
      return [{ value: "", label: T("choose_field") }].concat(groups);
    }

    function takesValue(op) { return ["is_set", "is_not_set", "is_true", "is_false"].indexOf(op) < 0; }

    // valueKind says which values of field f operator op takes: values
    // are kept across operators of the same kind.
    function valueKind(f, op) {
      if (!takesValue(op)) return "none";
      if (op === "in_last" || op === "not_in_last") return "relative";
      if (op === "between") return "pair";
      return "one";
    }

    // defaultValue is a new value for a field and operator.
    function defaultValue(f, op) {
      if (!takesValue(op)) return undefined;
      if (f.type === "date") {
        if (op === "in_last" || op === "not_in_last") return { amount: 30, unit: "day" };
        if (op === "between") return ["", ""];
        return "";
      }
      if ((f.type === "number" || f.type === "money") && op === "between") return ["", ""];
      if (f.type === "choice" || f.type === "ref" || f.type === "list") return [];
      return "";
    }

    // valueInputs builds the value inputs of condition c on field f.
    function valueInputs(c, f) {
      var op = c.op;
      var wrap = el("span", { "class": "rule-value" });
      if (!takesValue(op)) return wrap;
      var vlabel = T("value");
      var changed = function () { sync(); };
      if (f.type === "date" && (op === "in_last" || op === "not_in_last")) {
        var rel = c.value && typeof c.value === "object" && !Array.isArray(c.value) ? c.value : { amount: 30, unit: "day" };
        c.value = rel;
        wrap.appendChild(input(T("amount"), rel.amount, function (v) { rel.amount = v; changed(); }, { inputmode: "numeric", dir: "ltr", "class": "rule-amount" }));
        wrap.appendChild(select(T("unit"), Object.keys(cfg.units).map(function (u) { return { value: u, label: cfg.units[u] }; }),
          rel.unit, function (v) { rel.unit = v; changed(); }));
        return wrap;
      }
      if (op === "between") {
        var pair = Array.isArray(c.value) && c.value.length === 2 ? c.value : ["", ""];
        c.value = pair;
        var attrs = f.type === "date" ? { type: "date", dir: "ltr" } : { inputmode: "decimal", dir: "ltr", "class": "rule-number" };
        wrap.appendChild(input(T("from"), pair[0], function (v) { pair[0] = v; changed(); }, attrs));
        wrap.appendChild(el("span", { "class": "rule-and", text: T("to") }));
        wrap.appendChild(input(T("to"), pair[1], function (v) { pair[1] = v; changed(); }, attrs));
        return wrap;
      }
      if (f.type === "date") {
        wrap.appendChild(input(vlabel, c.value, function (v) { c.value = v; changed(); }, { type: "date", dir: "ltr" }));
        return wrap;
      }
      if (f.type === "number" || f.type === "money") {
        wrap.appendChild(input(vlabel, c.value, function (v) { c.value = v; changed(); }, { inputmode: "decimal", dir: "ltr", "class": "rule-number" }));
        return wrap;
      }
      if ((f.type === "choice" || f.type === "ref" || f.type === "list") && f.options && f.options.length) {
        var chosen = Array.isArray(c.value) ? c.value.map(String) : (c.value == null || c.value === "" ? [] : [String(c.value)]);
        c.value = chosen;
        var set = el("span", { "class": "rule-choices", role: "group", "aria-label": vlabel });
        f.options.forEach(function (o) {
          uid++;
          var id = "rc-" + uid;
          var box = el("input", { type: "checkbox", id: id, value: o.value });
          box.checked = chosen.indexOf(String(o.value)) >= 0;
          box.addEventListener("change", function () {
            var i = chosen.indexOf(String(o.value));
            if (box.checked && i < 0) chosen.push(String(o.value));
            if (!box.checked && i >= 0) chosen.splice(i, 1);
            changed();
          });
          set.appendChild(el("label", { "class": "choice", "for": id }, [box, el("span", { text: o.label })]));
        });
        wrap.appendChild(set);
        return wrap;
      }
      if (f.type === "choice" || f.type === "ref" || f.type === "list") {
        // Free values: typed, separated by commas (Persian and Arabic commas too).
        var text = Array.isArray(c.value) ? c.value.join(", ") : (c.value || "");
        var hint = f.type === "ref" ? T("ids_hint") : T("list_hint");
        wrap.appendChild(input(vlabel, text, function (v) {
          c.value = v.split(/[,،]/).map(function (s) { return s.trim(); }).filter(function (s) { return s !== ""; });
          changed();
        }, { placeholder: hint, title: hint, "class": "rule-values" }));
        if (!Array.isArray(c.value)) c.value = text ? [text] : [];
        return wrap;
      }
      wrap.appendChild(input(vlabel, c.value, function (v) { c.value = v; changed(); }, { "class": "rule-text" }));
      return wrap;
    }

    function conditionRow(c, path, remove) {
      var f = fields[c.field];
      var row = el("li", { "class": "rule-row", "data-path": path });
      var line = el("div", { "class": "rule-line" });
      line.appendChild(select(T("field"), fieldOptions(), c.field || "", function (v) {
        c.field = v;
        var nf = fields[v];
        if (nf) {
          var ops = cfg.ops_by_type[nf.type];
          if (ops.indexOf(c.op) < 0) c.op = ops[0];
          c.value = defaultValue(nf, c.op);
        }
        render();
      }));
      if (f) {
        var ops = cfg.ops_by_type[f.type] || [];
        if (ops.indexOf(c.op) < 0) { c.op = ops[0]; c.value = defaultValue(f, c.op); }
        line.appendChild(select(T("op"), ops.map(function (o) { return { value: o, label: cfg.ops[o] || o }; }), c.op, function (v) {
          var had = c.op;
          c.op = v;
          if (valueKind(f, had) !== valueKind(f, v)) c.value = defaultValue(f, v);
          render();
        }));
        line.appendChild(valueInputs(c, f));
      }
      var rm = el("button", { type: "button", "class": "button button-small button-quiet rule-remove", "aria-label": T("remove"), title: T("remove"), text: "×" });
      rm.addEventListener("click", remove);
      line.appendChild(rm);
      row.appendChild(line);
      row.appendChild(errorBox(path));
      return row;
    }

    function groupBox(g, path, depth, remove) {
      g.conditions = g.conditions || [];
      var box = el(depth === 0 ? "div" : "li", { "class": "rule-group" + (depth === 0 ? " rule-root" : ""), "data-path": path });
      var head = el("div", { "class": "rule-group-head" });
      head.appendChild(select(T("group"), [{ value: "all", label: T("match_all") }, { value: "any", label: T("match_any") }],
        g.match || "all", function (v) { g.match = v; sync(); }));
      if (remove) {
        var rm = el("button", { type: "button", "class": "button button-small button-quiet", text: T("remove_group") });
        rm.addEventListener("click", remove);
        head.appendChild(rm);
      }
      box.appendChild(head);
      var list = el("ol", { "class": "rule-list" });
      g.conditions.forEach(function (c, i) {
        var p = childPath(path, i);
        var drop = function () { g.conditions.splice(i, 1); render(); };
        if (isGroup(c)) list.appendChild(groupBox(c, p, depth + 1, drop));
        else list.appendChild(conditionRow(c, p, drop));
      });
      if (!g.conditions.length) list.appendChild(el("li", { "class": "rule-empty muted", text: T("no_conditions") }));
      box.appendChild(list);
      box.appendChild(errorBox(path));
      var foot = el("div", { "class": "rule-group-foot" });
      var addC = el("button", { type: "button", "class": "button button-small", text: "+ " + T("add_condition") });
      addC.addEventListener("click", function () {
        g.conditions.push({ field: "", op: "" });
        render();
        var rows = box.querySelectorAll(":scope > .rule-list > .rule-row select");
        if (rows.length) rows[rows.length - 1].focus();
      });
      foot.appendChild(addC);
      if (depth + 1 < MAX_DEPTH) {
        var addG = el("button", { type: "button", "class": "button button-small button-quiet", text: "+ " + T("add_group") });
        addG.addEventListener("click", function () {
          g.conditions.push({ match: g.match === "all" ? "any" : "all", conditions: [{ field: "", op: "" }] });
          render();
        });
        foot.appendChild(addG);
      }
      box.appendChild(foot);
      return box;
    }

    // clean is the tree as sent: rows without a field are left out of the
    // live count (they are still saved, and then named as incomplete).
    function clean(g, forPreview) {
      var out = { match: g.match || "all", conditions: [] };
      (g.conditions || []).forEach(function (c) {
        if (isGroup(c)) {
          var sub = clean(c, forPreview);
          if (!forPreview || sub.conditions.length) out.conditions.push(sub);
          return;
        }
        if (forPreview && !c.field) return;
        var n = { field: c.field, op: c.op };
        if (c.value !== undefined && takesValue(c.op)) n.value = c.value;
        out.conditions.push(n);
      });
      return out;
    }

    function sync() {
      textarea.value = JSON.stringify(clean(tree, false));
      schedule();
    }

    function render() {
      var focus = document.activeElement && box.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
      box.textContent = "";
      box.appendChild(groupBox(tree, "", 0, null));
      textarea.value = JSON.stringify(clean(tree, false));
      if (focus) {
        var again = box.querySelector("[aria-label=\"" + focus.replace(/"/g, "") + "\"]");
        if (again) again.focus();
      }
      schedule();
    }

    function showErrors(list) {
      errors = {};
      (list || []).forEach(function (e) { addError(errors, e); });
      box.querySelectorAll("[data-error-for]").forEach(function (p) {
        var msgs = errors[p.getAttribute("data-error-for")];
        p.textContent = msgs ? msgs.join(cfg.text.sep || " · ") : "";
        p.hidden = !msgs;
        var row = p.parentNode;
        if (msgs) row.setAttribute("aria-invalid", "true");
        else row.removeAttribute("aria-invalid");
      });
    }

    var countEl = preview && preview.querySelector("[data-preview-count]");
    var sampleEl = preview && preview.querySelector("[data-preview-sample]");

    function schedule() {
      if (!preview) return;
      clearTimeout(timer);
      timer = setTimeout(count, 450);
    }

    function count() {
      var mine = ++seq;
      countEl.textContent = T("counting");
      preview.classList.add("is-counting");
      var body = new URLSearchParams();
      body.set("rules", JSON.stringify(clean(tree, true)));
      body.set("csrf", box.getAttribute("data-csrf"));
      fetch(box.getAttribute("data-preview"), {
        method: "POST", credentials: "same-origin", body: body,
        headers: { Accept: "application/json", "X-CSRF-Token": box.getAttribute("data-csrf") }
      }).then(function (r) { return r.json(); }).then(function (d) {
        if (mine !== seq) return;
        preview.classList.remove("is-counting");
        showErrors(d.errors);
        sampleEl.textContent = "";
        if (d.error) {
          countEl.textContent = d.error;
          return;
        }
        countEl.textContent = d.count;
        if (!d.sample.length) sampleEl.appendChild(el("li", { "class": "muted", text: T("sample_none") }));
        d.sample.forEach(function (p) {
          sampleEl.appendChild(el("li", null, [
            el("a", { href: p.href, text: p.name }),
            p.contact ? el("bdi", { dir: "ltr", "class": "muted", text: p.contact }) : null
          ]));
        });
      }).catch(function () {
        if (mine !== seq) return;
        preview.classList.remove("is-counting");
        countEl.textContent = T("count_error");
      });
    }

    form.addEventListener("submit", function () { textarea.value = JSON.stringify(clean(tree, false)); });
    if (jsonField) jsonField.hidden = true;
    box.hidden = false;
    if (preview) preview.hidden = false;
    render();
    showErrors(cfg.errors);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
