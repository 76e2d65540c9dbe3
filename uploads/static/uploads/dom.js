// DOM helpers shared by the upload and history pages. Text goes into textContent only: file
// names, document numbers and errors are user or remote text and must never be parsed as HTML.
(function () {
  "use strict";
  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(2) + " MB";
  }

  window.YunqiaoDom = { el: el, size: size };
})();
