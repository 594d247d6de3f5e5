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
        if (!p.done) { setTimeout(poll, 2000); }
      }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
