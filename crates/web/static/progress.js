// Refreshes the campaign progress every two seconds until it is done. Without
// JavaScript the Refresh link does the same.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  function set(id, value) { document.getElementById(id).textContent = String(value); }
  function poll() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { return; }
        set("total", p.total); set("queued", p.counts.queued); set("sent", p.counts.sent);
        set("delivered", p.counts.delivered); set("failed", p.counts.failed);
        set("eta", p.eta); set("percent", p.percent);
        document.getElementById("bar").value = p.percent;
        // The server renders this sentence only while enqueueing; hide it once that ends.
        var enqueueing = document.getElementById("enqueueing");
        if (enqueueing && p.enqueued) { enqueueing.hidden = true; }
        if (document.getElementById("in-outbox")) { set("in-outbox", p.in_outbox); }
        // Each path's row, in the order the server rendered them.
        var rows = document.querySelectorAll("#paths tbody tr");
        (p.paths || []).forEach(function (path, i) {
          var row = rows[i];
          if (!row) { return; }
          function cell(name, value) { row.querySelector("." + name).textContent = String(value); }
          cell("measured", path.measured_per_minute === null ? "–" : path.measured_per_minute);
          cell("queued", path.counts.queued); cell("sent", path.counts.sent);
          cell("delivered", path.counts.delivered); cell("failed", path.counts.failed);
          cell("left", path.time_left);
        });
        // The other channels (e-mail, XMPP), by their row's id.
        (p.channels || []).forEach(function (c) {
          var row = document.getElementById("channel-" + c.id);
          if (!row) { return; }
          row.querySelector(".waiting").textContent = String(c.counts.waiting);
          row.querySelector(".sent").textContent = String(c.counts.sent);
          row.querySelector(".failed").textContent = String(c.counts.failed);
        });
        // A poll's answers keep coming after the last text went: keep counting them.
        if (p.poll) {
          (p.poll.choices || []).forEach(function (c) {
            var cell = document.querySelector(".tally-" + c.number);
            if (cell) { cell.textContent = String(c.count); }
          });
          var none = document.querySelector(".tally-none");
          if (none) { none.textContent = String(p.poll.unanswered); }
        }
        if (!p.done) { setTimeout(poll, 2000); } else if (p.poll) { setTimeout(poll, 5000); }
      }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
