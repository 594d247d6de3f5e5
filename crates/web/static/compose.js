// Live counters under the compose text area. The server checks everything again; this
// only saves a round trip. Counts Unicode scalar values like the server (Array.from),
// after turning \r\n into \n, and asks the server for the real SMS part count.
(function () {
  "use strict";
  var text = document.getElementById("text");
  if (!text) { return; }
  var safe = parseInt(text.getAttribute("data-safe"), 10);
  var hard = parseInt(text.getAttribute("data-hard"), 10);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var pending = null;
  function set(id, value) { document.getElementById(id).textContent = String(value); }
  function local() {
    var n = Array.from(text.value.replace(/\r\n?/g, "\n")).length;
    set("typed", n); set("safe-left", safe - n); set("hard-left", hard - n);
    return n;
  }
  function remote() {
    fetch("/api/v1/compose/measure", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: text.value })
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (report) {
      if (!report) { return; }
      set("typed", report.typed); set("safe-left", report.safe_left);
      set("hard-left", report.hard_left); set("parts", report.parts);
    }).catch(function () { /* the counters stay local; the server checks on submit */ });
  }
  text.addEventListener("input", function () {
    local();
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(remote, 150);
  });
  document.getElementById("compose-form").addEventListener("submit", function (e) {
    if (local() > hard) {
      e.preventDefault();
      alert("The message is longer than " + hard + " characters; please shorten it.");
    }
  });
})();
