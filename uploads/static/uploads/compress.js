// Shrinks a photo in the browser before it is sent: a 4 MB phone photo takes minutes on a weak
// signal. EXIF orientation is applied while decoding (imageOrientation "from-image"), so the
// JPEG drawn from it is upright and needs no orientation tag. Anything the browser cannot decode
// (PDF, HEIC on most browsers) or that would not get smaller is sent as chosen; the server
// validates whatever arrives.
(function () {
  "use strict";

  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" });
    }
    // Older browsers: an <img> applies EXIF orientation by default (CSS image-orientation).
    return new Promise(function (resolve, reject) {
      var img = new Image();
      var url = URL.createObjectURL(file);
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  function jpegName(name) {
    var dot = name.lastIndexOf(".");
    return (dot > 0 ? name.slice(0, dot) : name || "photo") + ".jpg";
  }

  // Resolves to {blob, name, compressed}; never rejects: the original is the fallback.
  function compress(file, options) {
    var maxSide = options.maxSide;
    var asChosen = { blob: file, name: file.name, compressed: false };
    if (!maxSide || !file.type || !/^image\/(jpeg|png|webp|bmp)$/.test(file.type)) {
      return Promise.resolve(asChosen);
    }
    return decode(file).then(function (image) {
      var width = image.width, height = image.height;
      var scale = Math.min(1, maxSide / Math.max(width, height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff"; // transparent PNG areas would otherwise turn black in a JPEG
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingQuality = "high";
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      if (image.close) image.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) resolve(asChosen);
          else resolve({ blob: blob, name: jpegName(file.name), compressed: true });
        }, "image/jpeg", options.quality / 100);
      });
    }).catch(function () { return asChosen; });
  }

  window.YunqiaoPhoto = { compress: compress };
})();
