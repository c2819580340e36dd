// Pivand: progressive enhancement only. Every page works without this
// file; with it, the navigation collapses behind a button on phones,
// copy buttons copy, destructive buttons ask first, the search box shows
// results as you type, forms show one empty row per list with an "Add
// another" button, and the bulk actions of lists show only the inputs
// the chosen action needs.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function navToggle() {
    var button = document.querySelector("[data-nav-toggle]");
    if (!button) return;
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-open", open);
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        nav.classList.remove("is-open");
        button.focus();
      }
    });
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var label = button.textContent;
      button.addEventListener("click", function () {
        var field = document.getElementById(button.getAttribute("data-copy"));
        if (!field) return;
        var done = function () {
          button.textContent = button.getAttribute("data-copied") || label;
          setTimeout(function () { button.textContent = label; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () {
            field.select();
          });
        } else {
          field.select();
          try { if (document.execCommand("copy")) done(); } catch (err) { /* the text stays selected */ }
        }
      });
    });
  }

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }

  // Rows of a list in a form (emails, phones, addresses, companies): the
  // server sends two empty rows; keep one visible and let "Add another"
  // reveal the rest, or copy the last row with the next index.
  function isEmptyRow(row) {
    var fields = row.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden") continue;
      if (f.value !== "") return false;
    }
    return !row.querySelector(".field-error");
  }

  function renumber(el, from, to) {
    ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
      var v = el.getAttribute(attr);
      if (v) el.setAttribute(attr, v.split("[" + from + "]").join("[" + to + "]"));
    });
  }

  function formRows() {
    document.querySelectorAll("[data-rows]").forEach(function (group) {
      var button = group.querySelector("[data-add-row]");
      if (!button) return;
      var rows = Array.prototype.slice.call(group.querySelectorAll("[data-row]"));
      var seenEmpty = false;
      rows.forEach(function (row) {
        if (!isEmptyRow(row)) return;
        if (seenEmpty) row.hidden = true;
        seenEmpty = true;
      });
      button.hidden = false;
      button.addEventListener("click", function () {
        var hidden = group.querySelector("[data-row][hidden]");
        var row = hidden;
        if (!row) {
          var all = group.querySelectorAll("[data-row]");
          var last = all[all.length - 1];
          if (!last || all.length >= 20) return;
          row = last.cloneNode(true);
          var n = all.length;
          row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
            renumber(el, n - 1, n);
            if (el.matches("input, textarea")) el.value = "";
            if (el.matches("select")) el.selectedIndex = 0;
            el.removeAttribute("aria-invalid");
          });
          row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
          last.after(row);
        }
        row.hidden = false;
        var first = row.querySelector("input, select");
        if (first) first.focus();
      });
    });
  }

  // Bulk actions: show the inputs the chosen action needs, and a box
  // that ticks everyone on the page.
  function bulkForms() {
    document.querySelectorAll("[data-bulk]").forEach(function (form) {
      var action = form.querySelector("[data-bulk-action]");
      var update = function () {
        form.querySelectorAll("[data-bulk-for]").forEach(function (el) {
          el.hidden = el.getAttribute("data-bulk-for").split(" ").indexOf(action.value) < 0;
        });
      };
      if (action) {
        action.addEventListener("change", update);
        update();
      }
      var all = document.querySelector("[data-check-all]");
      var boxes = document.querySelectorAll('input[name="id"][form="' + form.id + '"]');
      if (all && boxes.length) {
        all.hidden = false;
        all.addEventListener("change", function () {
          boxes.forEach(function (b) { b.checked = all.checked; });
        });
      }
    });
  }

  // Custom field settings: the choices and currency inputs only for the
  // types that have them.
  function fieldTypes() {
    var type = document.querySelector("select[data-field-type]");
    if (!type) return;
    var update = function () {
      document.querySelectorAll("[data-type-for]").forEach(function (el) {
        el.hidden = el.getAttribute("data-type-for").split(" ").indexOf(type.value) < 0;
      });
    };
    type.addEventListener("change", update);
    update();
  }

  // The search box: results as you type, from /search?format=json.
  function searchBox() {
    var form = document.querySelector("[data-search]");
    if (!form) return;
    var input = form.querySelector('input[type="search"]');
    var list = form.querySelector(".search-results");
    if (!input || !list || !window.fetch) return;
    var timer = 0, seq = 0;
    var close = function () {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    };
    var options = function () { return list.querySelectorAll("a"); };
    var show = function (data) {
      list.textContent = "";
      if (!data.results || !data.results.length) {
        var none = document.createElement("p");
        none.className = "search-none";
        none.textContent = data.none || "";
        list.appendChild(none);
      }
      (data.results || []).forEach(function (r, i) {
        var a = document.createElement("a");
        a.className = "search-option";
        a.href = r.url;
        a.id = "search-option-" + i;
        a.setAttribute("role", "option");
        var avatar = document.createElement("span");
        avatar.className = "avatar" + (r.kind === "company" ? " avatar-square" : "");
        avatar.setAttribute("aria-hidden", "true");
        avatar.textContent = (r.title || "?").trim().charAt(0).toUpperCase();
        var text = document.createElement("span");
        text.className = "search-option-text";
        var title = document.createElement("span");
        title.textContent = r.title;
        text.appendChild(title);
        if (r.subtitle) {
          var sub = document.createElement("bdi");
          sub.className = "search-option-sub";
          sub.dir = "ltr";
          sub.textContent = r.subtitle;
          text.appendChild(sub);
        }
        a.appendChild(avatar);
        a.appendChild(text);
        list.appendChild(a);
      });
      var all = document.createElement("a");
      all.className = "search-all";
      all.href = data.all;
      all.textContent = data.all_text || "";
      list.appendChild(all);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch("/search?format=json&q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && mine === seq && input.value.trim() === q) show(data); })
          .catch(function () { /* the form still submits to /search */ });
      }, 180);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && !list.hidden && options().length) {
        e.preventDefault();
        options()[0].focus();
      } else if (e.key === "Escape") {
        close();
      }
    });
    list.addEventListener("keydown", function (e) {
      var opts = Array.prototype.slice.call(options());
      var i = opts.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < opts.length - 1) { e.preventDefault(); opts[i + 1].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); if (i > 0) opts[i - 1].focus(); else input.focus(); }
      else if (e.key === "Escape") { close(); input.focus(); }
    });
    document.addEventListener("click", function (e) {
      if (!form.contains(e.target)) close();
    });
    form.addEventListener("focusout", function (e) {
      if (e.relatedTarget && !form.contains(e.relatedTarget)) close();
    });
  }

  function init() {
    navToggle();
    copyButtons();
    confirmForms();
    formRows();
    bulkForms();
    fieldTypes();
    searchBox();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
