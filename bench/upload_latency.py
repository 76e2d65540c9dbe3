"""Latency of POST /api/upload as a phone sees it: a load client against a running `make run`.

Each request carries 10 files of 1 MiB (JPEG magic bytes + random data). The answer must not wait
on the cloud, so this measures receiving, validating, hashing, fsyncing and inserting the rows.

    make run                                   # in another terminal (PORT=8000)
    .venv/bin/python bench/upload_latency.py   # --requests 100 --concurrency 4 --url http://...
    .venv/bin/python bench/upload_latency.py --cloud-latency-ms 300,800   # a cloud that is not local

The signed upload link is minted here with the deployment's secret key (run it from the checkout
that `make run` uses, with the same DATA_DIR), or pass --token for an API token of a field user.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def signed_link_query(document: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from uploads import links

    return links.create_link(**document).query()


def payload(files: int, size: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    body = os.urandom(size - len(JPEG_HEAD))
    return [("files", (f"bench{i}.jpg", JPEG_HEAD + body, "image/jpeg")) for i in range(files)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--size", type=int, default=1024 * 1024, help="bytes per file")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--token", help="API token of a field user instead of a signed link")
    parser.add_argument(
        "--cloud-latency-ms",
        help="MIN,MAX: make the sandbox of `make run` answer like a remote cloud (sets its latency fault)",
    )
    parser.add_argument("--sandbox-url", default=f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', '8765')}")
    args = parser.parse_args()

    if args.cloud_latency_ms:
        low, high = (int(v) for v in args.cloud_latency_ms.split(","))
        httpx.post(
            f"{args.sandbox_url}/__sandbox__/faults", json={"latency_ms": [low, high]}, timeout=10
        ).raise_for_status()

    document = {"business_id": "1836660026080493581", "doc_number": "BENCH-0001", "doc_type": "销售"}
    headers = {"Accept": "application/json"}
    if args.token:
        headers["Authorization"] = f"Token {args.token}"
        data = dict(document)
    else:
        data = signed_link_query(document)
    files = payload(args.files, args.size)
    local = threading.local()

    def one() -> float:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=args.url, headers=headers, timeout=60)
        started = time.perf_counter()
        response = local.client.post("/api/upload", data=data, files=files)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
        return elapsed * 1000

    for _ in range(args.warmup):
        one()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        timings = list(pool.map(lambda _: one(), range(args.requests)))
    wall = time.perf_counter() - started

    mib = args.files * args.size / 1024 / 1024
    shape = f"{args.requests} requests of {args.files} x {args.size // 1024} KiB"
    print(f"POST /api/upload: {shape}, concurrency {args.concurrency}")
    print(
        f"p50 {percentile(timings, 50):.1f} ms  p95 {percentile(timings, 95):.1f} ms  "
        f"max {max(timings):.1f} ms  mean {statistics.fmean(timings):.1f} ms"
    )
    print(f"throughput {args.requests / wall:.1f} req/s, {args.requests * mib / wall:.0f} MiB/s")


if __name__ == "__main__":
    main()
