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

  function photo(r) {
    var link = el("a", "photo");
    link.href = list.dataset.photo.replace("{id}", String(r.id));
    var img = el("img");
    img.src = link.href;
    img.alt = r.original_name || r.file_name;
    img.loading = "lazy";
    img.width = img.height = 72;
    link.appendChild(img);
    return link;
  }

  function render(data) {
    var fresh = [];
    if (!data.records.length) fresh.push(el("li", "muted", i18n.empty));
    data.records.forEach(function (r) {
      var item = el("li");
      item.dataset.status = r.status;
      // Keep the picture the server rendered (the JSON does not say whether the local copy is
      // still there), so polling does not reload every image.
      var old = list.querySelector("li[data-id='" + r.id + "'] .photo");
      if (old) item.appendChild(old);
      else if (/\.(jpe?g|png|gif|webp)$/i.test(r.file_name)) item.appendChild(photo(r));
      item.dataset.id = r.id;
      var about = el("div", "about");
      about.appendChild(el("span", "badge " + r.status, (icons[r.status] || "") + " " + (i18n[r.status] || r.status)));
      about.appendChild(el("span", "name", r.original_name || r.file_name));
      about.appendChild(el("span", "muted", r.file_name + " · " + size(r.file_size) + " · " + when(r.upload_time)));
      if (r.status === "failed" && r.error_message) about.appendChild(el("span", "error", r.error_message));
      item.appendChild(about);
      fresh.push(item);
    });
    list.replaceChildren.apply(list, fresh);
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
