// History page: poll the JSON only while something is pending or uploading, and rebuild the
// list with DOM nodes and textContent only: file names and errors are user or remote text.
(function () {
  "use strict";
  var list = document.getElementById("history");
  if (!list || !window.fetch) return;
  var i18n = JSON.parse(document.getElementById("history-i18n").textContent);
  var icons = { success: "✓", uploading: "⏳", failed: "✗", pending: "⏸" };
  var timer = null;

  var el = window.YunqiaoDom.el;
  var size = window.YunqiaoDom.size;

  function when(iso) {
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", { hour12: false });
  }

  function render(data) {
    list.replaceChildren();
    if (!data.records.length) list.appendChild(el("li", "muted", i18n.empty));
    data.records.forEach(function (r) {
      var item = el("li");
      item.dataset.status = r.status;
      item.appendChild(el("span", "badge " + r.status, (icons[r.status] || "") + " " + (i18n[r.status] || r.status)));
      item.appendChild(el("span", "name", r.original_name || r.file_name));
      item.appendChild(el("span", "muted", r.file_name + " · " + size(r.file_size) + " · " + when(r.upload_time)));
      if (r.status === "failed" && r.error_message) item.appendChild(el("span", "error", r.error_message));
      list.appendChild(item);
    });
  }

  function poll() {
    fetch(list.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        render(data);
        if (!data.has_unfinished) stop();
      })
      .catch(function () { /* keep polling: the network of a phone comes and goes */ });
  }

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
  }

  if (list.dataset.polling === "1") timer = setInterval(poll, 3000);
})();
