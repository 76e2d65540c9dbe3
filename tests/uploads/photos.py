"""Large phone-like photos drawn by the browser, for the browser test and bench/phone_photo.py
(no Django here: the benchmark imports it without settings)."""

import base64
import struct

# A 4000×3000 "phone photo" of a printed document: a gradient, text and a grain that JPEG cannot
# throw away, saved at quality 0.95 (about 4.4 MB), drawn by the browser itself.
PHONE_PHOTO_JS = """([w, h]) => {
  const c = document.createElement('canvas'); c.width = w; c.height = h;
  const x = c.getContext('2d');
  const g = x.createLinearGradient(0, 0, w, h); g.addColorStop(0, '#d8cfc0'); g.addColorStop(1, '#6b7f99');
  x.fillStyle = g; x.fillRect(0, 0, w, h);
  x.fillStyle = '#fff'; x.fillRect(w * 0.15, h * 0.1, w * 0.7, h * 0.8);
  x.fillStyle = '#222'; x.font = Math.round(h / 40) + 'px sans-serif';
  for (let i = 0; i < 30; i++) {
    x.fillText('销售出库单 SO20251021-0001 数量 12 单价 34.50 ' + i, w * 0.18, h * 0.15 + i * h / 40);
  }
  const d = x.getImageData(0, 0, w, h); let s = 12345;
  for (let i = 0; i < d.data.length; i += 4) {
    s = (s * 1103515245 + 12345) & 0x7fffffff; const n = (s % 17) - 8;
    d.data[i] += n; d.data[i + 1] += n; d.data[i + 2] += n;
  }
  x.putImageData(d, 0, 0);
  return c.toDataURL('image/jpeg', 0.95).split(',')[1];
}"""


def phone_photo(page, *, width: int = 4000, height: int = 3000, orientation: int = 6) -> bytes:
    """A large JPEG whose EXIF says "rotate 90° clockwise to display", as phones held upright write."""
    jpeg = base64.b64decode(page.evaluate(PHONE_PHOTO_JS, [width, height]))
    # EXIF APP1: big-endian TIFF header, one IFD with one entry, Orientation (0x0112) SHORT.
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    index = 2
    while index < len(data):
        marker, length = data[index + 1], struct.unpack(">H", data[index + 2 : index + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    raise ValueError("no start-of-frame segment")
