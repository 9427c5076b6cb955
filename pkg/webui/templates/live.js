// Follows a running job: its state and log are read again every two seconds, and the
// page is reloaded once the job is over (to show its attempts and outputs). The log is
// set as text, never as markup.
(function () {
  var log = document.getElementById("log"), state = document.getElementById("state");
  if (!log || !state) { return; }
  var src = log.getAttribute("data-src");
  function atEnd() { return log.scrollTop + log.clientHeight >= log.scrollHeight - 8; }
  function tick() {
    fetch(src, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (d) {
        var follow = atEnd();
        if (log.textContent !== d.log) {
          log.textContent = d.log;
          if (follow) { log.scrollTop = log.scrollHeight; }
        }
        state.textContent = d.state;
        state.className = "state s-" + d.state;
        if (d.final) { window.location.replace(window.location.pathname); return; }
        window.setTimeout(tick, 2000);
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 1000);
})();
