// d2d run page: tails the run's log and state from the staff-only JSON endpoint while the run goes on.
(function () {
  "use strict";
  function start() {
    var POLL_MS = 1500;
    var panel = document.getElementById("d2d-run");
    if (!panel) { return; }
    var logUrl = panel.dataset.logUrl;
    var cursor = panel.dataset.cursor ? parseInt(panel.dataset.cursor, 10) : null;
    var finished = panel.dataset.finished === "1";
    var finishedAtLoad = finished;
    var pre = document.getElementById("d2d-log");
    var levelSelect = document.getElementById("d2d-log-level");
    var download = document.getElementById("d2d-log-download");
    var live = document.getElementById("d2d-log-live");
    var timer = null;
    var generation = 0;

    function lineNode(line) {
      var span = document.createElement("span");
      span.className = "d2d-log-" + line.level;
      span.dataset.level = line.level;
      var level = (line.level.toUpperCase() + "       ").slice(0, 7);
      span.textContent = line.time.slice(0, 19).replace("T", " ") + " " + level + " " + line.message + "\n";
      return span;
    }

    function setState(data) {
      var task = data.task;
      document.getElementById("d2d-run-badge").innerHTML = data.badge;  // built and escaped by the server
      document.getElementById("d2d-run-progress").value = task.progress;
      document.getElementById("d2d-run-percent").textContent = task.progress + "%";
      document.getElementById("d2d-run-text").textContent = task.status_text;
      var error = document.getElementById("d2d-run-error");
      document.getElementById("d2d-run-error-text").textContent = task.error;
      error.hidden = !task.error;
      var body = document.getElementById("d2d-run-history");
      body.textContent = "";
      data.history.forEach(function (row) {
        var tr = document.createElement("tr");
        [row.event, row.at.slice(0, 19).replace("T", " "), row.took, row.note].forEach(function (text) {
          var td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      finished = task.finished;
    }

    function poll() {
      var mine = generation;
      var params = new URLSearchParams();
      if (cursor !== null) { params.set("after", cursor); }
      if (levelSelect.value) { params.set("level", levelSelect.value); }
      fetch(logUrl + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (data) {
          if (mine !== generation) { return; }  // the level changed meanwhile: this page is stale
          var empty = document.getElementById("d2d-log-empty");
          if (empty && data.lines.length) { empty.remove(); }
          var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          data.lines.forEach(function (line) { pre.appendChild(lineNode(line)); });
          if (atBottom) { pre.scrollTop = pre.scrollHeight; }
          if (data.newer_cursor !== null && data.newer_cursor !== undefined) { cursor = data.newer_cursor; }
          setState(data);
          var more = data.has_more_newer;
          if (finished && !more) { live.textContent = ""; if (!finishedAtLoad) { refreshFigures(); } return; }
          live.textContent = "live";
          schedule(more ? 0 : POLL_MS);
        })
        .catch(function () { if (mine === generation) { live.textContent = "reconnecting"; schedule(POLL_MS * 2); } });
    }

    // The run ended while the page was open: the fields below the panel (rows, bytes, finished at, the
    // per-stream table) were rendered when it began, so they are swapped for the server's final ones,
    // without a reload.
    function refreshFigures() {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var oldForm = document.querySelector("#content-main form");
          var newForm = fresh.querySelector("#content-main form");
          if (!oldForm || !newForm) { return; }
          oldForm.replaceWith(newForm);
          start();  // the new panel's level filter and download link, for a run that has finished
        })
        .catch(function () { /* the figures stay as they were; a reload shows them */ });
    }

    function schedule(ms) {
      clearTimeout(timer);
      timer = setTimeout(poll, ms);
    }

    levelSelect.addEventListener("change", function () {
      generation += 1;
      cursor = null;
      pre.textContent = "";
      var base = download.dataset.base;
      download.href = levelSelect.value ? base + "?level=" + encodeURIComponent(levelSelect.value) : base;
      schedule(0);
    });

    if (!finished) { schedule(POLL_MS); }
  }
  start();
})();
