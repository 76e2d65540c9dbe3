// Upload page: thumbnails, a progress bar while the bytes go up, then the per-file answer.
// Without JavaScript the form posts normally. User text only ever goes into textContent.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var i18n = JSON.parse(document.getElementById("upload-i18n").textContent);
  var input = document.getElementById("files");
  var thumbs = document.getElementById("thumbs");
  var wrap = document.getElementById("progress-wrap");
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var button = document.getElementById("submit");
  var result = document.getElementById("result");
  var message = document.getElementById("result-message");
  var list = document.getElementById("result-list");

  var el = window.YunqiaoDom.el;
  var size = window.YunqiaoDom.size;

  input.addEventListener("change", function () {
    thumbs.replaceChildren();
    Array.prototype.forEach.call(input.files, function (file) {
      var item = el("li");
      if (file.type && file.type.indexOf("image/") === 0) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = file.name;
        img.onload = function () { URL.revokeObjectURL(img.src); };
        item.appendChild(img);
      }
      item.appendChild(el("span", "", file.name + " · " + size(file.size)));
      thumbs.appendChild(item);
    });
  });

  function setProgress(percent) {
    bar.setAttribute("aria-valuenow", String(percent));
    bar.firstElementChild.style.width = percent + "%";
  }

  function show(body, ok) {
    result.hidden = false;
    list.replaceChildren();
    message.textContent = body.message || "";
    message.className = ok ? "" : "error";
    if (ok) {
      body.records.forEach(function (r) {
        var item = el("li");
        item.appendChild(el("span", "badge pending", "⏸ " + i18n.pending));
        item.appendChild(el("span", "name", r.original_name));
        item.appendChild(el("span", "muted", r.file_name + " · " + size(r.file_size)));
        list.appendChild(item);
      });
    } else if (body.errors && body.errors.files) {
      body.errors.files.forEach(function (f) {
        if (!f.file_name) return;
        var item = el("li", "error");
        item.appendChild(el("span", "name", f.file_name));
        item.appendChild(el("span", "", f.reason));
        list.appendChild(item);
      });
    }
    result.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var request = new XMLHttpRequest();
    var search = window.location.search;
    request.open("POST", form.dataset.api + search);
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (csrf) request.setRequestHeader("X-CSRFToken", csrf.value);
    request.setRequestHeader("Accept", "application/json");
    wrap.hidden = false;
    button.disabled = true;
    setProgress(0);
    text.textContent = i18n.uploading;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) setProgress(Math.round((e.loaded / e.total) * 100));
    });
    request.addEventListener("load", function () {
      button.disabled = false;
      var body;
      try { body = JSON.parse(request.responseText); } catch (err) { body = { message: i18n.failed }; }
      var ok = request.status === 200;
      if (ok) {
        setProgress(100);
        text.textContent = i18n.done;
        form.reset();
        thumbs.replaceChildren();
      } else {
        wrap.hidden = true;
      }
      show(body, ok);
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      wrap.hidden = true;
      show({ message: i18n.failed }, false);
    });
    request.send(data);
  });
})();
