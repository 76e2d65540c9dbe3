"""Time from sending a phone photo to 已上传到用友 on the slowed network, on the whole stack.

`bench/phone_photo.py` measures what the browser sends for a 4 MB photo (the upload page shrinks it
to about 239 KB) and how long shrinking takes. This takes over from there, on the HTTP path the page
uses, against a running `make run` (gunicorn, the django-q2 cluster, the Yonyou sandbox):

1. `POST /api/upload?sig=…` with `X-Upload-Signature` and an `Idempotency-Key`, one photo of
   `--photo-bytes` (JPEG magic bytes and random data; the default is the shrunk size that
   `phone_photo.py` measured), multipart as the page sends it → the answer is 已保存;
2. `GET /api/history/<business_id>?sig=…` at once, then every 3 s after each answer, as the page
   polls, until the record is `success` → 已上传到用友.

Both go through a TCP proxy in this process that paces each direction (default 40 KB/s up,
400 KB/s down, as `phone_photo.py` gives Chromium) and delays every byte by half of `--latency-ms`
each way (400 ms round trip), the slowed network of issue 15. The same runs straight to the
server, in the same process and minute, are the floor.

    make run                                     # or runstack with its own DATA_DIR and ports
    .venv/bin/python bench/phone_to_yonyou.py    # --url http://127.0.0.1:8000 --runs 5

Run it from the checkout and DATA_DIR that `make run` uses: the signed link is minted here with the
deployment's secret key.
"""

import argparse
import contextlib
import heapq
import os
import socket
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
SHRUNK_PHOTO_BYTES = 238_443  # bench/phone_photo.py, docs/benchmarks.md: a 4.28 MB photo shrunk
POLL_S = 3.0  # uploads/static/uploads/upload.js POLL_MS
DOCUMENT = {"business_id": "1836660026080493581", "doc_number": "SO-PHONE-BENCH", "doc_type": "销售"}


class SlowLink:
    """One direction of the slowed network: bytes leave at `rate` bytes/s, each arriving `delay_s`
    after it left (a byte cannot arrive before the one before it)."""

    def __init__(self, source: socket.socket, target: socket.socket, *, rate: float, delay_s: float):
        self.source, self.target, self.rate, self.delay_s = source, target, rate, delay_s
        self.queue: list[tuple[float, int, bytes]] = []
        self.ready = threading.Condition()
        self.closed = False

    def read(self) -> None:
        sent_until, order = time.monotonic(), 0
        with contextlib.suppress(OSError):
            while chunk := self.source.recv(1460):  # about one TCP segment
                sent_until = max(sent_until, time.monotonic()) + len(chunk) / self.rate
                with self.ready:
                    heapq.heappush(self.queue, (sent_until + self.delay_s, order, chunk))
                    self.ready.notify()
                order += 1
        with self.ready:
            self.closed = True
            self.ready.notify()

    def write(self) -> None:
        try:
            while True:
                with self.ready:
                    while not self.queue and not self.closed:
                        self.ready.wait()
                    if not self.queue:
                        break
                    due, _order, chunk = self.queue[0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        self.ready.wait(wait)
                        continue
                    heapq.heappop(self.queue)
                self.target.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self.target.shutdown(socket.SHUT_WR)


class SlowProxy:
    """A TCP proxy on a free local port in front of `upstream`, slowing both directions."""

    def __init__(self, upstream: tuple[str, int], *, up_rate: float, down_rate: float, latency_s: float):
        self.upstream, self.up_rate, self.down_rate, self.latency_s = upstream, up_rate, down_rate, latency_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            client, _address = self.listener.accept()
            server = socket.create_connection(self.upstream)
            one_way = self.latency_s / 2
            for link in (
                SlowLink(client, server, rate=self.up_rate, delay_s=one_way),
                SlowLink(server, client, rate=self.down_rate, delay_s=one_way),
            ):
                threading.Thread(target=link.read, daemon=True).start()
                threading.Thread(target=link.write, daemon=True).start()


def signed_link_query() -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from uploads import links

    return links.create_link(**DOCUMENT).query()


def one_photo(base_url: str, query: dict, photo: bytes) -> tuple[float, float, int]:
    """Seconds to 已保存 and to 已上传到用友, and the polls it took, as the upload page sees them."""
    signature = query["sig"]
    headers = {"Accept": "application/json", "X-Upload-Signature": signature}
    with httpx.Client(base_url=base_url, timeout=300) as http:
        started = time.monotonic()
        answer = http.post(
            "/api/upload",
            params={"sig": signature},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            data={key: query[key] for key in ("business_id", "doc_number", "doc_type")},
            files=[("files", ("IMG_0001.jpg", photo, "image/jpeg"))],
        )
        answer.raise_for_status()
        saved = time.monotonic() - started
        record_id = answer.json()["records"][0]["id"]
        polls = 0
        while True:
            polls += 1
            history = http.get(f"/api/history/{query['business_id']}", params={"sig": signature}, headers=headers)
            history.raise_for_status()
            status = next(r["status"] for r in history.json()["records"] if r["id"] == record_id)
            if status == "success":
                return saved, time.monotonic() - started, polls
            if status == "failed":
                raise SystemExit(f"record {record_id} failed: {history.json()}")
            time.sleep(POLL_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--photo-bytes", type=int, default=SHRUNK_PHOTO_BYTES)
    parser.add_argument("--upload-kbps", type=float, default=40.0, help="upload throughput, KB/s")
    parser.add_argument("--download-kbps", type=float, default=400.0)
    parser.add_argument("--latency-ms", type=float, default=400.0, help="round trip added")
    args = parser.parse_args()

    upstream = urlsplit(args.url)
    proxy = SlowProxy(
        (upstream.hostname, upstream.port or 80),
        up_rate=args.upload_kbps * 1024,
        down_rate=args.download_kbps * 1024,
        latency_s=args.latency_ms / 1000,
    )
    query = signed_link_query()
    photo = JPEG_HEAD + os.urandom(args.photo_bytes - len(JPEG_HEAD))
    slowed_url = f"http://127.0.0.1:{proxy.port}"

    results: dict[str, list[tuple[float, float, int]]] = {"floor": [], "slowed": []}
    for _run in range(args.runs):  # interleaved, so both see the same load
        results["floor"].append(one_photo(args.url, query, photo))
        results["slowed"].append(one_photo(slowed_url, query, photo))

    network = f"{args.upload_kbps:g} KB/s up, {args.download_kbps:g} KB/s down, {args.latency_ms:g} ms"
    print(f"photo: {len(photo):,} bytes, {args.runs} runs each; load average {os.getloadavg()[0]:.2f}")
    for name, label in (("floor", "straight to the server"), ("slowed", network)):
        runs = results[name]
        saved = [r[0] for r in runs]
        done = [r[1] for r in runs]
        print(
            f"{label:>42}: 已保存 median {statistics.median(saved):5.1f} s (max {max(saved):5.1f}), "
            f"已上传到用友 median {statistics.median(done):5.1f} s (max {max(done):5.1f}), "
            f"polls {[r[2] for r in runs]}"
        )


if __name__ == "__main__":
    main()
