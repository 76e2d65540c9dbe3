// Upload page with JavaScript: every chosen photo is shrunk, kept in IndexedDB and sent in the
// background, one at a time, retried with backoff until the server has it — across a reload or a
// closed tab. Then its record is polled until Yonyou has it. Without JavaScript (or IndexedDB) the
// form posts normally. User and server text only ever goes into textContent.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.indexedDB || !window.Promise) return;
  var i18n = JSON.parse(document.getElementById("upload-i18n").textContent);
  var el = window.YunqiaoDom.el;
  var size = window.YunqiaoDom.size;
  var compress = window.YunqiaoPhoto.compress;
  var queueList = document.getElementById("queue");
  var pickers = [document.getElementById("files"), document.getElementById("camera")];
  var photoOptions = { maxSide: Number(form.dataset.maxSide) || 0, quality: Number(form.dataset.quality) || 80 };
  var POLL_MS = 3000;
  var BACKOFF_CAP_S = 60;

  var items = {}; // id → item, the same objects that are stored (blob included)
  var sending = null;
  var wakeTimer = null;
  var pollTimer = null;

  // --- IndexedDB: one store, one row per photo ---------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("yunqiao-uploads", 1);
    open.onupgradeneeded = function () { open.result.createObjectStore("queue", { keyPath: "id" }); };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });

  function store(mode, action) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("queue", mode);
        var request = action(tx.objectStore("queue"));
        tx.oncomplete = function () { resolve(request && request.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function save(item) { return store("readwrite", function (s) { return s.put(item); }); }
  function forget(item) { return store("readwrite", function (s) { return s.delete(item.id); }); }
  function loadAll() { return store("readonly", function (s) { return s.getAll(); }); }

  // --- Rendering ----------------------------------------------------------------------------
  function label(item) {
    switch (item.state) {
      case "compressing": return i18n.compressing;
      case "queued": return i18n.uploading.replace("{n}", "0");
      case "sending": return i18n.uploading.replace("{n}", String(item.percent || 0));
      case "saved": return i18n.saved;
      case "done": return i18n.done;
      default: return i18n.failed;
    }
  }
  var BADGES = { compressing: "pending", queued: "uploading", sending: "uploading", saved: "pending", done: "success", failed: "failed" };

  function render(item) {
    var row = document.getElementById("queue-" + item.id);
    if (!row) {
      row = el("li");
      row.id = "queue-" + item.id;
      queueList.appendChild(row);
    }
    queueList.hidden = false;
    row.dataset.status = item.state;
    var children = [el("span", "badge " + BADGES[item.state], label(item)), el("span", "name", item.name)];
    var detail = size(item.size);
    if (item.originalSize && item.originalSize !== item.size) detail = size(item.originalSize) + " → " + detail;
    children.push(el("span", "muted", item.doc_number + " · " + detail));
    if (item.state === "failed") {
      var text = item.error || i18n.network;
      if (!item.permanent) text += " " + i18n.autoRetry;
      children.push(el("span", "error", text));
      var retry = el("button", "retry", i18n.retry);
      retry.type = "button";
      retry.addEventListener("click", function () { retryNow(item); });
      children.push(retry);
    }
    row.replaceChildren.apply(row, children);
  }

  function update(item, changes) {
    Object.keys(changes).forEach(function (key) { item[key] = changes[key]; });
    render(item);
    if (item.state === "done") return forget(item);
    return save(item);
  }

  // --- Choosing: store the original first, so a tab closed while compressing loses nothing ---
  function documentFields() {
    function value(name) {
      var field = form.elements.namedItem(name);
      return field ? field.value.trim() : "";
    }
    return {
      business_id: value("business_id"), doc_number: value("doc_number"), doc_type: value("doc_type"),
      product_type: value("product_type"), sig: value("sig"),
    };
  }

  function choose(files) {
    var fields = documentFields();
    Array.prototype.forEach.call(files, function (file, index) {
      var item = Object.assign({
        id: Date.now() + "-" + index + "-" + Math.random().toString(36).slice(2, 8),
        name: file.name, size: file.size, originalSize: file.size, type: file.type,
        blob: file, state: "compressing", attempts: 0, nextAt: 0,
      }, fields);
      items[item.id] = item;
      render(item);
      save(item).then(function () { shrink(item); });
    });
  }

  function shrink(item) {
    var original = new File([item.blob], item.name, { type: item.type });
    return compress(original, photoOptions).then(function (result) {
      return update(item, { blob: result.blob, name: result.name, size: result.blob.size, state: "queued" });
    }).then(pump);
  }

  // --- Sending, one photo at a time ---------------------------------------------------------
  function due() {
    var now = Date.now();
    var waiting = Object.keys(items).map(function (id) { return items[id]; }).filter(function (item) {
      return item.state === "queued" || (item.state === "failed" && !item.permanent);
    });
    waiting.sort(function (a, b) { return a.nextAt - b.nextAt; });
    var ready = waiting.filter(function (item) { return item.nextAt <= now; })[0];
    return { ready: ready, next: waiting[0] };
  }

  function pump() {
    if (sending) return;
    clearTimeout(wakeTimer);
    var found = due();
    if (found.ready) return send(found.ready);
    if (found.next) wakeTimer = setTimeout(pump, Math.max(250, found.next.nextAt - Date.now()));
  }

  function backoff(item, message, retryAfterS) {
    var attempts = item.attempts + 1;
    var delayS = retryAfterS || Math.min(BACKOFF_CAP_S, Math.pow(2, attempts)) * (0.75 + Math.random() / 4);
    return update(item, { state: "failed", permanent: false, attempts: attempts, error: message, nextAt: Date.now() + delayS * 1000 });
  }

  function answer(request) {
    try { return JSON.parse(request.responseText) || {}; } catch (err) { return {}; }
  }

  function refusal(item, body) {
    // The reason given for this file when there is one, else the request's message: said once.
    var reasons = ((body.errors && body.errors.files) || []).filter(function (f) { return f && f.reason; });
    if (reasons.length) return reasons[0].reason;
    return body.message || body.detail || i18n.failed;
  }

  function send(item) {
    sending = item;
    update(item, { state: "sending", percent: 0 });
    var data = new FormData();
    ["business_id", "doc_number", "doc_type", "product_type"].forEach(function (name) {
      if (item[name]) data.append(name, item[name]);
    });
    data.append("files", item.blob, item.name);
    var request = new XMLHttpRequest();
    var url = form.dataset.api + (item.sig ? "?sig=" + encodeURIComponent(item.sig) : "");
    request.open("POST", url);
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (csrf) request.setRequestHeader("X-CSRFToken", csrf.value);
    if (item.sig) request.setRequestHeader("X-Upload-Signature", item.sig);
    // The same key on every retry: a photo whose reply was lost is not stored twice.
    request.setRequestHeader("Idempotency-Key", item.key || item.id);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      item.percent = Math.min(99, Math.round((e.loaded / e.total) * 100));
      render(item);
    });
    function done(outcome) {
      sending = null;
      Promise.resolve(outcome).then(function () { pump(); poll(); });
    }
    request.addEventListener("load", function () {
      var body = answer(request);
      var status = request.status;
      if (status === 200 && body.records && body.records.length) {
        done(update(item, { state: "saved", recordId: body.records[0].id, error: "", nextAt: 0 }));
      } else if (status === 429) {
        done(backoff(item, body.message || body.detail || i18n.busy, Number(request.getResponseHeader("Retry-After")) || 0));
      } else if (status >= 400 && status < 500 && status !== 408) {
        // 422: the key was used for other bytes; a retry then needs a key of its own.
        done(update(item, { state: "failed", permanent: true, error: refusal(item, body), nextAt: 0, keyUsed: status === 422 }));
      } else {
        done(backoff(item, i18n.network));
      }
    });
    request.addEventListener("error", function () { done(backoff(item, i18n.network)); });
    request.addEventListener("timeout", function () { done(backoff(item, i18n.network)); });
    request.send(data);
  }

  function retryNow(item) {
    // A photo Yonyou refused is sent again as a new upload (a new key); the server keeps both
    // rows. One the server never stored keeps its key, in case a lost reply hid that it did.
    var key = item.recordId || item.keyUsed ? item.id + "-" + Date.now().toString(36) : item.key || item.id;
    update(item, { state: "queued", permanent: false, attempts: 0, nextAt: 0, error: "", recordId: null, key: key, keyUsed: false }).then(pump);
  }

  // --- Live status of what the server has: the document's history, filtered to our rows ----
  function poll() {
    clearTimeout(pollTimer);
    var saved = Object.keys(items).map(function (id) { return items[id]; }).filter(function (item) { return item.state === "saved"; });
    if (!saved.length || !window.fetch) return;
    var byDocument = {};
    saved.forEach(function (item) {
      var key = item.business_id + "\n" + item.sig;
      (byDocument[key] = byDocument[key] || []).push(item);
    });
    var requests = Object.keys(byDocument).map(function (key) {
      var group = byDocument[key];
      var url = form.dataset.historyApi.replace("BUSINESS_ID", encodeURIComponent(group[0].business_id));
      if (group[0].sig) url += "?sig=" + encodeURIComponent(group[0].sig);
      return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return;
          var records = {};
          data.records.forEach(function (r) { records[r.id] = r; });
          group.forEach(function (item) {
            var record = records[item.recordId];
            if (!record) return;
            if (record.status === "success") update(item, { state: "done", blob: null });
            else if (record.status === "failed") update(item, { state: "failed", permanent: true, error: record.error_message || i18n.failed });
          });
        })
        .catch(function () { /* a phone's network comes and goes: the next poll asks again */ });
    });
    Promise.all(requests).then(function () { pollTimer = setTimeout(poll, POLL_MS); });
  }

  // --- Start: show and resume what an earlier visit left, then take new choices -------------
  pickers.forEach(function (picker) {
    if (!picker) return;
    picker.addEventListener("change", function () {
      if (picker.files.length) choose(picker.files);
      picker.value = "";
    });
  });
  form.classList.add("queued-upload"); // the photos go as chosen; the submit button is for no-JS
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  window.addEventListener("online", function () {
    Object.keys(items).forEach(function (id) { if (items[id].state === "failed" && !items[id].permanent) items[id].nextAt = 0; });
    pump();
  });

  loadAll().then(function (stored) {
    stored.sort(function (a, b) { return a.id < b.id ? -1 : 1; });
    stored.forEach(function (item) {
      items[item.id] = item;
      if (item.state === "sending") item.state = "queued"; // the page closed mid-request
      if (item.state === "failed" && !item.permanent) item.nextAt = 0; // a new visit tries at once
      render(item);
      if (item.state === "compressing") shrink(item);
    });
    pump();
    poll();
  });
})();
