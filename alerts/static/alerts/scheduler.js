// Scheduler page: "立即执行" buttons and the run-duration chart (inline SVG built with DOM calls;
// no HTML strings, no external libraries).
(function () {
  "use strict";
  var labels = JSON.parse(document.getElementById("chart-labels").textContent);
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var SVG = "http://www.w3.org/2000/svg";

  function format(template, value) {
    return template.replace("%s", String(value));
  }

  function say(text, isError) {
    var box = document.getElementById("trigger-message");
    box.textContent = text;
    box.className = isError ? "error" : "muted";
  }

  function statusText(status) {
    return labels.statuses[status] || status;
  }

  // The run's state, in the message line and in its job's "last run" cell, with a link to the run.
  function showRun(run, jobId) {
    var finished = run.status !== "queued" && run.status !== "running";
    say(format(labels.run_state, run.id) + " " + statusText(run.status) + (run.error ? " — " + run.error : ""),
        finished && run.status !== "success");
    var link = document.createElement("a");
    link.href = labels.run_url.replace("/0/", "/" + encodeURIComponent(run.id) + "/");
    link.textContent = labels.open_run + " #" + run.id;
    var box = document.getElementById("trigger-message");
    box.appendChild(document.createTextNode(" "));
    box.appendChild(link);
    var cell = document.querySelector('td[data-last-run="' + CSS.escape(jobId) + '"]');
    if (cell) {
      var badge = document.createElement("span");
      badge.className = "badge " + (run.status === "success" ? "success"
        : (run.status === "failed" || run.status === "timeout") ? "failed" : "queued");
      badge.textContent = statusText(run.status);
      var runLink = link.cloneNode(true);
      runLink.textContent = "#" + run.id;
      while (cell.firstChild) { cell.removeChild(cell.firstChild); }
      cell.appendChild(runLink);
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(badge);
    }
    return finished;
  }

  function pollRun(url, jobId) {
    var tries = 0;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (run) {
          if (!showRun(run, jobId)) {
            if (++tries < 120) { window.setTimeout(poll, 1000); }
            return;
          }
          if (document.getElementById("chart-job").value === jobId) { drawChart(jobId); }
        });
    }
    poll();
  }

  document.querySelectorAll("button[data-trigger]").forEach(function (button) {
    button.addEventListener("click", function () {
      var jobId = button.getAttribute("data-trigger");
      button.disabled = true;
      fetch("/api/v1/scheduler/jobs/" + encodeURIComponent(jobId) + "/trigger", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) {
          if (!answer.ok) { say(answer.body.message || labels.failed, true); return; }
          say(format(labels.queued, answer.body.run_id));
          pollRun(answer.body.run_url, jobId);
        })
        .catch(function () { say(labels.failed, true); })
        .finally(function () { button.disabled = false; });
    });
  });

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function render(runs) {
    var area = document.getElementById("chart-area");
    var note = document.getElementById("chart-note");
    while (area.firstChild) { area.removeChild(area.firstChild); }
    var points = runs.filter(function (r) { return r.duration_s !== null && r.started_at; })
      .map(function (r) { return { t: Date.parse(r.started_at), d: r.duration_s, run: r }; })
      .sort(function (a, b) { return a.t - b.t; });
    if (!points.length) { note.textContent = labels.no_runs; return; }
    note.textContent = format(labels.showing, points.length);
    var W = 720, H = 260, L = 56, R = 12, T = 12, B = 36;
    var t0 = points[0].t, t1 = points[points.length - 1].t;
    var dMax = Math.max.apply(null, points.map(function (p) { return p.d; })) || 1;
    function x(t) { return t1 === t0 ? L + (W - L - R) / 2 : L + (t - t0) / (t1 - t0) * (W - L - R); }
    function y(d) { return T + (1 - d / dMax) * (H - T - B); }
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", class: "duration-chart" });
    svg.appendChild(el("title", {}, labels.chart_title));
    [0, 0.5, 1].forEach(function (f) {
      var value = dMax * f;
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(value), y2: y(value), class: "grid" }));
      svg.appendChild(el("text", { x: L - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" },
        value.toFixed(value < 10 ? 2 : 0) + labels.seconds));
    });
    [t0, t1].forEach(function (t, i) {
      svg.appendChild(el("text", { x: x(t), y: H - 10, "text-anchor": i ? "end" : "start", class: "axis" },
        new Date(t).toLocaleString()));
    });
    svg.appendChild(el("polyline", {
      points: points.map(function (p) { return x(p.t) + "," + y(p.d); }).join(" "), class: "line",
    }));
    points.forEach(function (p) {
      var dot = el("circle", { cx: x(p.t), cy: y(p.d), r: 3.5, class: "point " + p.run.status });
      dot.appendChild(el("title", {}, "#" + p.run.id + " " + p.run.status + " " + p.d.toFixed(3) + labels.seconds +
        " " + new Date(p.t).toLocaleString()));
      svg.appendChild(dot);
    });
    area.appendChild(svg);
  }

  function drawChart(jobId) {
    if (!jobId) { return; }
    fetch("/api/v1/scheduler/jobs/" + encodeURIComponent(jobId) + "/runs?page_size=200",
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (page) { render(page.results || []); })
      .catch(function () { document.getElementById("chart-note").textContent = labels.failed; });
  }

  // Live cron preview: while staff type, the words the expression means (or why it is refused)
  // appear beside it, from the server's own rule. Only the last answer counts; text only.
  document.querySelectorAll("input[data-cron-preview]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("aria-describedby"));
    var timer = null;
    var asked = 0;
    function show(text, isError) {
      out.textContent = text;
      out.className = "cron-words " + (isError ? "error" : "muted");
    }
    function ask() {
      var mine = ++asked;
      fetch(input.getAttribute("data-cron-preview") + "?cron=" + encodeURIComponent(input.value),
            { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
        .then(function (answer) {
          if (mine !== asked || answer.status === 429) { return; }
          if (answer.status !== 200) { show(answer.body.message || labels.failed, true); return; }
          var next = answer.body.next_runs[0];
          show(answer.body.words + (next ? " · " + format(labels.next_run, new Date(next).toLocaleString()) : ""), false);
        })
        .catch(function () { /* the form still saves; the preview is only a help */ });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 300);
    });
  });

  var select = document.getElementById("chart-job");
  select.addEventListener("change", function () { drawChart(select.value); });
  drawChart(select.value);
})();
