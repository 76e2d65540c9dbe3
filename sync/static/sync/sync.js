// The sync page: start a batch, follow its progress by polling the API, cancel or retry.
// Text from the server is only ever set with textContent, never as HTML.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sync-config").textContent);
  var text = config.text;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var pollTimer = null;

  function batchUrl(id) {
    return config.urls.batch.replace(/0$/, String(id));
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function say(element, message, isError) {
    element.textContent = message || "";
    element.className = isError ? "error" : "muted";
  }

  function call(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (payload) {
        if (!response.ok || payload.status !== "success") {
          var error = new Error(payload.message || text.failed + " (" + response.status + ")");
          throw error;
        }
        return payload.data;
      });
    });
  }

  function showBatch(batch) {
    byId("running").hidden = false;
    byId("running-id").textContent = "#" + batch.id;
    byId("running-range").textContent = batch.start_date + " ~ " + batch.end_date;
    var badge = byId("running-status");
    badge.textContent = batch.status_display;
    badge.className = "badge " + batch.status;
    var bar = byId("running-bar");
    bar.style.width = batch.percent + "%";
    bar.parentNode.setAttribute("aria-valuenow", String(batch.percent));
    byId("running-detail").textContent =
      batch.processed_days + "/" + batch.total_days + " " + text.days + " · " + batch.total_records + " " + text.records;
    var current = batch.current_date ? batch.current_date : "";
    if (batch.eta_seconds !== null && batch.eta_seconds !== undefined) {
      current += (current ? " · " : "") + text.eta.replace("%(seconds)s", String(Math.round(batch.eta_seconds)));
    }
    byId("running-current").textContent = current;
    showDays(batch.days || []);
    byId("cancel-button").setAttribute("data-batch", String(batch.id));
    byId("cancel-button").disabled = !batch.is_active || batch.cancel_requested;
  }

  function localTime(iso) {
    return iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "";
  }

  // One row per day of the batch: status, attempts, and for a day waiting to retry when and why.
  function showDays(days) {
    var body = byId("running-days").tBodies[0];
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    days.forEach(function (day) {
      var row = body.insertRow();
      row.insertCell().textContent = day.sync_date;
      var badge = document.createElement("span");
      badge.className = "badge " + day.status;
      badge.textContent = day.status_display;
      row.insertCell().appendChild(badge);
      row.insertCell().textContent = String(day.attempts);
      row.insertCell().textContent = localTime(day.next_attempt_at);
      var note = row.insertCell();
      note.textContent = day.retry_note || day.error_message || "";
      note.className = day.error_message ? "error" : "muted";
    });
  }

  // The recent batches and days tables, as the server renders them now (escaped by Django's
  // templates, parsed as a separate inert document, never assigned as HTML), swapped in place.
  function refreshTables() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["recent-batches", "recent-days"].forEach(function (id) {
          var source = fresh.getElementById(id);
          var target = byId(id);
          if (source && target) {
            target.tBodies[0].replaceWith(document.importNode(source.tBodies[0], true));
          }
        });
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function finished(batch) {
    say(byId("running-message"),
        text.done.replace("%(id)s", String(batch.id)).replace("%(status)s", batch.status_display), false);
    byId("batch-form").querySelector("button[type=submit]").disabled = false;
    document.querySelectorAll("button[data-action=retry]").forEach(function (b) { b.disabled = false; });
    refreshTables();
  }

  function poll(id) {
    clearTimeout(pollTimer);
    call("GET", batchUrl(id))
      .then(function (batch) {
        showBatch(batch);
        if (batch.is_active) {
          refreshTables();
          pollTimer = setTimeout(function () { poll(id); }, config.pollMs);
        } else {
          finished(batch);
        }
      })
      .catch(function (error) {
        say(byId("running-message"), error.message || text.network, true);
        pollTimer = setTimeout(function () { poll(id); }, config.pollMs * 3);
      });
  }

  byId("batch-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var message = byId("form-message");
    var button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    say(message, text.starting, false);
    call("POST", config.urls.startBatch, {
      start_date: byId("start-date").value,
      end_date: byId("end-date").value,
      force: byId("force").checked,
    })
      .then(function (data) {
        say(message, data.message, false);
        poll(data.batch_id);
      })
      .catch(function (error) {
        say(message, error.message || text.network, true);
        button.disabled = false;
      });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button || !button.getAttribute("data-batch")) {
      return;
    }
    var id = button.getAttribute("data-batch");
    var action = button.getAttribute("data-action");
    var message = action === "cancel" ? byId("running-message") : byId("form-message");
    button.disabled = true;
    call("POST", batchUrl(id) + "/" + action)
      .then(function (batch) {
        showBatch(batch);
        poll(batch.id);
      })
      .catch(function (error) {
        say(message, error.message || text.network, true);
        button.disabled = false;
      });
  });

  byId("day-filter").querySelector("select").addEventListener("change", function (event) {
    event.target.form.submit();
  });

  if (config.activeBatchId) {
    poll(config.activeBatchId);
  }
})();
