// Campaign editor: show only the fields of the chosen channel, and count
// SMS parts as the text is typed (GSM-7: 160 per message, 153 per part
// when split, extension characters count twice; anything else is UCS-2:
// 70, then 67 per part). The server counts the same way (campaign.CountSMS).
(function () {
  "use strict";
  var form = document.querySelector(".campaign-form");
  if (!form) return;
  var channel = form.querySelector("[data-campaign-channel]");
  function showChannel() { form.setAttribute("data-channel", channel.value); }
  if (channel) { channel.addEventListener("change", showChannel); showChannel(); }

  var gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var ext = "^{}\\[~]|€\f";
  function count(s) {
    var septets = 0, ucs = false, units = 0;
    for (var i = 0; i < s.length; i++) {
      var ch = s.charAt(i);
      if (gsm.indexOf(ch) >= 0) septets++;
      else if (ext.indexOf(ch) >= 0) septets += 2;
      else ucs = true;
    }
    var single = 160, multi = 153;
    units = septets;
    if (ucs) { single = 70; multi = 67; units = s.length; } // UTF-16 code units
    var parts = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
    return { ucs: ucs, units: units, parts: parts };
  }
  var lang = document.documentElement.lang;
  var digits = lang === "fa" ? "۰۱۲۳۴۵۶۷۸۹" : lang === "ar" ? "٠١٢٣٤٥٦٧٨٩" : null;
  function num(n) {
    var s = String(n);
    return digits ? s.replace(/[0-9]/g, function (d) { return digits.charAt(+d); }) : s;
  }
  form.querySelectorAll("[data-sms-counter]").forEach(function (ta) {
    var out = document.getElementById(ta.getAttribute("data-sms-counter"));
    if (!out) return;
    function update() {
      var c = count(ta.value);
      var tpl = out.getAttribute(c.ucs ? "data-ucs2" : "data-gsm7");
      out.textContent = tpl.replace("{units}", num(c.units)).replace("{parts}", num(c.parts));
    }
    ta.addEventListener("input", update);
  });
})();
