"""Bytes a phone sends for a 4 MB photo, and how long that takes on a weak signal.

Debian's chromium (as the browser test) opens a page that loads the upload page's own
`uploads/static/uploads/compress.js`, draws a 4000×3000 photo of a printed document (about 4.4 MB
as a JPEG, EXIF orientation 6), shrinks it with the deployment's defaults, and posts it as the
upload page does (multipart, one file) to a local receiver that counts the body bytes. The upload
runs under Chromium's network emulation (default 40 KB/s up, 400 ms latency, as issue 15 measured).
The time from there to 已上传到用友 on the whole stack is `bench/phone_to_yonyou.py`.

    .venv/bin/python bench/phone_photo.py                      # --max-side 1600 --quality 80
    .venv/bin/python bench/phone_photo.py --max-side 0         # as chosen, without shrinking
"""

import argparse
import base64
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.uploads.photos import jpeg_size, phone_photo  # noqa: E402

COMPRESS_JS = (ROOT / "uploads" / "static" / "uploads" / "compress.js").read_text()
PAGE = f"<!doctype html><meta charset=utf-8><title>bench</title><script>{COMPRESS_JS}</script>".encode()

SEND_JS = """async ([b64, maxSide, quality]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const file = new File([bytes], 'IMG_0001.jpg', {type: 'image/jpeg'});
  const started = performance.now();
  const shrunk = await window.YunqiaoPhoto.compress(file, {maxSide, quality});
  const compressMs = performance.now() - started;
  const data = new FormData();
  data.append('business_id', '1836660026080493581'); data.append('doc_number', 'SO20251021-0001');
  data.append('doc_type', '销售'); data.append('files', shrunk.blob, shrunk.name);
  const sendStarted = performance.now();
  await new Promise((resolve, reject) => {
    const request = new XMLHttpRequest(); request.open('POST', '/upload');
    request.onload = resolve; request.onerror = reject; request.send(data);
  });
  const head = new Uint8Array(await shrunk.blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < head.length; i += 8192) binary += String.fromCharCode(...head.subarray(i, i + 8192));
  return {compressMs, sendMs: performance.now() - sendStarted, photo: shrunk.blob.size, jpeg: btoa(binary)};
}"""


class Receiver(BaseHTTPRequestHandler):
    received: list[int] = []

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(len(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-side", type=int, default=1600)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--upload-kbps", type=float, default=40.0, help="upload throughput, KB/s")
    parser.add_argument("--latency-ms", type=float, default=400.0)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(url)
        photo = phone_photo(page)
        cdp = page.context.new_cdp_session(page)
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": args.latency_ms,
                "downloadThroughput": 400 * 1024,
                "uploadThroughput": args.upload_kbps * 1024,
            },
        )
        started = time.monotonic()
        result = page.evaluate(SEND_JS, [base64.b64encode(photo).decode(), args.max_side, args.quality])
        wall = time.monotonic() - started
        browser.close()
    server.shutdown()
    sent = base64.b64decode(result["jpeg"])
    width, height = jpeg_size(sent)
    print(f"photo chosen:        {len(photo):>10,} bytes (4000×3000, EXIF orientation 6)")
    print(f"photo sent:          {result['photo']:>10,} bytes ({width}×{height})")
    print(f"request body:        {Receiver.received[0]:>10,} bytes")
    print(f"shrinking:           {result['compressMs']:>10,.0f} ms")
    network = f"{args.upload_kbps:g} KB/s up, {args.latency_ms:g} ms"
    print(f"sending ({network}): {result['sendMs'] / 1000:.1f} s; whole run {wall:.1f} s")


if __name__ == "__main__":
    main()
