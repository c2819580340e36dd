// Pivand: the sales board (loaded on the board only). Without this file
// every card has a move form and the board works as plain pages. With it:
//
//   - mouse: drag a card to another column;
//   - touch and pen: drag a card by its grip (the rest of the card
//     scrolls the page as usual);
//   - keyboard: focus a card, Space (or Enter) picks it up, the arrow keys
//     carry it between columns (left and right as they look, in Persian
//     and Arabic too), Space or Enter puts it down, Escape cancels.
//
// A drop posts the move with the card's version and the board's filter;
// the answer has the deal as it is now and every column's count and
// totals, which replace the headers. When someone moved the card
// meanwhile (409) the card goes where they put it and the status line
// says so. Dropping on the lost column asks for the reason first.
(function () {
  "use strict";

  var board = document.querySelector("[data-board]");
  if (!board || !window.fetch || !window.URLSearchParams) return;
  var statusLine = document.querySelector("[data-board-status]");
  var dialog = document.querySelector("[data-lose-dialog]");
  var rtl = (document.documentElement.getAttribute("dir") || "") === "rtl";
  var msg = board.dataset;

  function say(text) {
    if (statusLine) statusLine.textContent = text || "";
  }

  function columnOf(el) {
    return el && el.closest ? el.closest("[data-column]") : null;
  }

  function columns() {
    return Array.prototype.slice.call(board.querySelectorAll("[data-column]"));
  }

  function listOf(col) {
    return col.querySelector("[data-cards]");
  }

  function title(col) {
    var h = col.querySelector("h2");
    return h ? h.firstChild.textContent.trim() : "";
  }

  function fill(col, selector, text) {
    var el = col.querySelector(selector);
    if (el && typeof text === "string") el.textContent = text;
  }

  function putBack(card, from, next) {
    var list = listOf(from);
    if (next && next.parentNode === list) list.insertBefore(card, next);
    else list.appendChild(card);
  }

  // askReason opens the lost dialog; it resolves to the reason and note,
  // or null when cancelled.
  function askReason() {
    return new Promise(function (resolve) {
      if (!dialog || typeof dialog.showModal !== "function") {
        resolve({});
        return;
      }
      var reason = dialog.querySelector("[data-lose-reason]");
      var note = dialog.querySelector("[data-lose-note]");
      if (reason) reason.value = "";
      if (note) note.value = "";
      dialog.returnValue = "";
      dialog.addEventListener("close", function done() {
        dialog.removeEventListener("close", done);
        if (dialog.returnValue !== "lose") {
          resolve(null);
          return;
        }
        resolve({ lost_reason_id: reason ? reason.value : "", lost_note: note ? note.value : "" });
      });
      dialog.showModal();
    });
  }

  // move puts card at the top of col and posts the move; from and next
  // say where it was, to put it back when the move is refused.
  function move(card, col, from, next) {
    var extra = col.dataset.end === "lost" ? askReason() : Promise.resolve({});
    return extra.then(function (fields) {
      if (fields === null) {
        putBack(card, from, next);
        say(msg.msgCancel);
        card.focus();
        return;
      }
      var body = new URLSearchParams(board.dataset.query || "");
      body.set("stage_id", col.dataset.column);
      body.set("version", card.dataset.version);
      Object.keys(fields).forEach(function (k) { body.set(k, fields[k]); });
      var list = listOf(col);
      list.insertBefore(card, list.firstChild);
      card.classList.add("is-saving");
      card.setAttribute("aria-busy", "true");
      return fetch("/sales/deals/" + card.dataset.deal + "/move", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
          "X-CSRF-Token": board.dataset.csrf
        },
        body: body.toString()
      }).then(function (r) {
        return r.json().then(function (data) { return { status: r.status, data: data }; });
      }).then(function (res) {
        settle(card, res, from, next);
      }).catch(function () {
        card.classList.remove("is-saving");
        card.removeAttribute("aria-busy");
        putBack(card, from, next);
        say(msg.msgFailed);
      });
    });
  }

  // settle shows the answer of a move: the card where the deal is now,
  // and every column's new count and totals.
  function settle(card, res, from, next) {
    var d = res.data || {};
    card.classList.remove("is-saving");
    card.removeAttribute("aria-busy");
    if (d.deal) {
      card.dataset.version = d.deal.version;
      card.dataset.stage = d.deal.stage_id;
      var v = card.querySelector("input[name=version]");
      if (v) v.value = d.deal.version;
      var sel = card.querySelector("select[name=stage_id]");
      if (sel) sel.value = d.deal.stage_id;
      if (d.deal.status !== "open") {
        card.remove();
      } else {
        var col = board.querySelector('[data-column="' + d.deal.stage_id + '"]');
        if (col && columnOf(card) !== col) {
          var list = listOf(col);
          list.insertBefore(card, list.firstChild);
        }
      }
    } else if (!d.ok) {
      putBack(card, from, next);
    }
    (d.columns || []).forEach(function (c) {
      var col = board.querySelector('[data-column="' + c.stage_id + '"]');
      if (!col) return;
      fill(col, "[data-col-count]", c.count);
      fill(col, "[data-col-total]", c.total);
      fill(col, "[data-col-weighted]", c.weighted);
    });
    if (res.status === 409) {
      card.classList.add("is-conflict");
      setTimeout(function () { card.classList.remove("is-conflict"); }, 4000);
    }
    say(d.message || (d.ok ? "" : msg.msgFailed));
    if (card.isConnected) card.focus();
  }

  // --- Dragging with a pointer ---

  var drag = null;

  function columnAt(x, y) {
    var el = document.elementFromPoint(x, y);
    var col = columnOf(el);
    return col && board.contains(col) ? col : null;
  }

  function mark(col) {
    columns().forEach(function (c) { c.classList.toggle("is-target", c === col); });
  }

  board.addEventListener("pointerdown", function (e) {
    var card = e.target.closest ? e.target.closest(".deal-card[tabindex]") : null;
    if (!card || e.button !== 0 || drag) return;
    if (e.target.closest("a, button, select, input, textarea, label, summary, details[open]")) return;
    // A finger or a pen drags by the grip; elsewhere it scrolls the page.
    if (e.pointerType !== "mouse" && !e.target.closest("[data-grip]")) return;
    drag = { card: card, id: e.pointerId, x: e.clientX, y: e.clientY, started: false, from: columnOf(card), next: card.nextElementSibling };
  });

  document.addEventListener("pointermove", function (e) {
    if (!drag || e.pointerId !== drag.id) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.started) {
      if (Math.abs(dx) + Math.abs(dy) < 6) return;
      drag.started = true;
      drag.card.classList.add("is-dragging");
      board.classList.add("is-dragging");
    }
    e.preventDefault();
    drag.card.style.transform = "translate(" + dx + "px, " + dy + "px)";
    // Near the board's edges the board scrolls along.
    var r = board.getBoundingClientRect();
    if (e.clientX < r.left + 40) board.scrollLeft -= 16;
    else if (e.clientX > r.right - 40) board.scrollLeft += 16;
    drag.over = columnAt(e.clientX, e.clientY);
    mark(drag.over);
  });

  function endDrag(e, drop) {
    if (!drag || (e && e.pointerId !== drag.id)) return;
    var d = drag;
    drag = null;
    d.card.style.transform = "";
    d.card.classList.remove("is-dragging");
    board.classList.remove("is-dragging");
    mark(null);
    if (!d.started) return;
    if (drop && d.over && d.over !== d.from) {
      move(d.card, d.over, d.from, d.next);
    }
  }

  document.addEventListener("pointerup", function (e) { endDrag(e, true); });
  document.addEventListener("pointercancel", function (e) { endDrag(e, false); });
  // --- Moving with the keyboard ---

  var held = null;

  function pick(card) {
    held = { card: card, from: columnOf(card), next: card.nextElementSibling };
    card.classList.add("is-held");
    card.setAttribute("aria-grabbed", "true");
    say(msg.msgPicked.replace("{stage}", title(held.from)));
  }

  function carry(step) {
    var cols = columns();
    var here = cols.indexOf(columnOf(held.card));
    var to = here + step;
    if (to < 0 || to >= cols.length) return;
    var list = listOf(cols[to]);
    list.insertBefore(held.card, list.firstChild);
    held.card.focus();
    say(msg.msgOver.replace("{stage}", title(cols[to])));
  }

  function putDown(drop) {
    var h = held;
    held = null;
    h.card.classList.remove("is-held");
    h.card.removeAttribute("aria-grabbed");
    var col = columnOf(h.card);
    if (!drop || col === h.from) {
      putBack(h.card, h.from, h.next);
      h.card.focus();
      say(msg.msgCancel);
      return;
    }
    move(h.card, col, h.from, h.next);
  }

  board.addEventListener("keydown", function (e) {
    var card = e.target;
    if (!card.classList || !card.classList.contains("deal-card")) return;
    if (!held) {
      if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        pick(card);
      }
      return;
    }
    if (held.card !== card) return;
    switch (e.key) {
      case "ArrowRight":
      case "ArrowLeft":
        e.preventDefault();
        carry((e.key === "ArrowRight") !== rtl ? 1 : -1);
        break;
      case " ":
      case "Enter":
        e.preventDefault();
        putDown(true);
        break;
      case "Escape":
      case "Tab":
        if (e.key === "Escape") e.preventDefault();
        putDown(false);
        break;
    }
  });

  // --- More cards ---

  board.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("[data-more]") : null;
    if (!link) return;
    e.preventDefault();
    var col = columnOf(link);
    fetch(link.getAttribute("data-more"), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      var next = r.headers.get("X-Next") || "";
      return r.text().then(function (html) { return { html: html, next: next }; });
    }).then(function (res) {
      var holder = document.createElement("ol");
      holder.innerHTML = res.html;
      var list = listOf(col);
      while (holder.firstElementChild) list.appendChild(holder.firstElementChild);
      if (res.next) {
        var url = new URL(link.getAttribute("data-more"), window.location.href);
        url.searchParams.set("after", res.next);
        link.setAttribute("data-more", url.pathname + url.search);
      } else {
        link.parentNode.remove();
      }
    }).catch(function () { say(msg.msgFailed); });
  });
})();
