"""How fast a backlog of uploads drains to Yonyou, against the cap: is throughput set by
YONYOU_MAX_CONCURRENCY, or by the number of queue workers?

Starts its own stack in a temporary DATA_DIR (removed at the end): the sandbox with every call
taking exactly --latency-ms, and for each cap a `qcluster` with --workers processes. Then, per cap:

- floor: the same N files sent by our own Yonyou client on `cap` threads, in this process;
- drain: N accepted files (rows + stored files) made due at once, timed from the dispatch until
  every row is `success`; checked: every file in the sandbox exactly once, at most `cap` at once.

The ideal is N × latency / cap. SQLite and the ORM broker by default; pass DATABASE_URL and
REDIS_URL in the environment to measure PostgreSQL + Redis.

    .venv/bin/python bench/upload_drain.py                       # 200 files, caps 3 and 10, 2 workers
    .venv/bin/python bench/upload_drain.py --files 100 --caps 3 --workers 4
    .venv/bin/python bench/upload_drain.py --recovery --files 100   # kill -9 a cluster mid-drain
    .venv/bin/python bench/upload_drain.py --busy-loops 4           # on a host kept busy by 4 spinning processes
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + os.urandom(20 * 1024)
DOCUMENT = {"business_id": "1836660026080493581", "doc_number": "SO20251021-0001", "doc_type": "销售"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


class Sandbox:
    def __init__(self, data_dir: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(data_dir / "sandbox.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "sandbox", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "DATA_DIR": str(data_dir / "sandbox")},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.answers, timeout_s=30, what="the sandbox")

    def answers(self) -> bool:
        try:
            self.state()
        except httpx.HTTPError:
            return False
        return True

    def state(self) -> dict:
        return httpx.get(f"{self.url}/__sandbox__/state", timeout=30).raise_for_status().json()

    def reset(self, latency_ms: int) -> None:
        httpx.post(f"{self.url}/__sandbox__/reset", timeout=30).raise_for_status()
        httpx.post(
            f"{self.url}/__sandbox__/faults", json={"latency_ms": [latency_ms, latency_ms]}, timeout=30
        ).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds spent so far by `pid` and every process below it (a qcluster: its
    sentinel, pusher, monitor and workers). CPU per file barely moves with what else the machine
    does, so it says whether the drain costs more than the floor's client even on a loaded host."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0, [str(pid)]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += (task / "children").read_text().split()
        except FileNotFoundError:
            continue  # ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def floor_s(*, files: int, cap: int) -> tuple[float, float]:
    """Our own client, `cap` threads, no queue, no database: the best the cap allows here."""
    from yonyou.client import business_type_for, get_client

    client = get_client()
    client.upload_attachment(  # the token, outside the timing
        business_type=business_type_for(DOCUMENT["doc_type"]),
        business_id=DOCUMENT["business_id"],
        file_name="warmup.jpg",
        fileobj=_file(),
        deadline=time.monotonic() + 60,
    )

    def send(number: int) -> None:
        client.upload_attachment(
            business_type=business_type_for(DOCUMENT["doc_type"]),
            business_id=DOCUMENT["business_id"],
            file_name=f"floor-{number}.jpg",
            fileobj=_file(),
            deadline=time.monotonic() + 60,
        )

    started, cpu_started = time.monotonic(), time.process_time()
    with ThreadPoolExecutor(cap) as pool:
        list(pool.map(send, range(files)))
    return time.monotonic() - started, time.process_time() - cpu_started


def _file():
    import io

    return io.BytesIO(JPEG)


def accept(files: int) -> list[int]:
    """Accept `files` photos in requests of 10, as the API does, but held from the workers."""
    import django_q.tasks
    from django.core.files.uploadedfile import SimpleUploadedFile

    from uploads import services

    class HeldBroker:
        list_key = "held"

        def enqueue(self, task):
            pass

    real_broker = django_q.tasks.get_broker
    django_q.tasks.get_broker = lambda *args, **kwargs: HeldBroker()
    try:
        ids = []
        for start in range(0, files, 10):
            uploads = [
                SimpleUploadedFile(f"photo{n}.jpg", JPEG, "image/jpeg") for n in range(start, min(files, start + 10))
            ]
            ids += [r.pk for r in services.accept_upload(uploads=uploads, product_type=None, **DOCUMENT)]
        return ids
    finally:
        django_q.tasks.get_broker = real_broker


CLUSTER_LOG = None  # --cluster-log: where the clusters' JSON log lines go, to trace a run


def start_cluster(*, cap: int, workers: int, queue: str, **extra: str) -> subprocess.Popen:
    env = {**os.environ, "Q_WORKERS": str(workers), "YONYOU_MAX_CONCURRENCY": str(cap), "Q_CLUSTER_NAME": queue}
    log = open(CLUSTER_LOG, "ab") if CLUSTER_LOG else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env={**env, **extra},
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group, to kill -9 all of it at once
    )


def recovery(*, files: int, workers: int, sandbox: Sandbox, queue: str) -> dict:
    """A cluster of "host A" killed with -9 mid-drain (cap 3, the sandbox refusing its first six
    calls), a cluster of "host B" started at once: how long until A's uploads are taken back (by
    heartbeat: B cannot check A's pids), and until every file is delivered."""
    import signal

    from django.utils import timezone

    from uploads.models import UploadRecord, UploadStatus

    ids = accept(files)
    sandbox.reset(sandbox.latency_ms)
    httpx.post(f"{sandbox.url}/__sandbox__/faults", json={"fail_next": 6}, timeout=30).raise_for_status()
    UploadRecord.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    first = start_cluster(cap=3, workers=workers, queue=queue, UPLOAD_WORKER_HOST="bench-host-a")
    rows = UploadRecord.objects.filter(pk__in=ids)
    try:
        wait_for(lambda: rows.filter(status=UploadStatus.SUCCESS).count() >= files // 4, timeout_s=300, what="A")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    in_flight = rows.filter(status=UploadStatus.UPLOADING).count()
    left = rows.exclude(status=UploadStatus.SUCCESS).count()
    started = time.monotonic()
    second = start_cluster(cap=3, workers=workers, queue=queue, UPLOAD_WORKER_HOST="bench-host-b")
    try:
        wait_for(
            lambda: not rows.filter(status=UploadStatus.UPLOADING, lease_holder__startswith="bench-host-a:").exists(),
            timeout_s=600,
            what="A's uploads taken back",
        )
        taken_back = time.monotonic() - started
        wait_for(lambda: rows.filter(status=UploadStatus.SUCCESS).count() == files, timeout_s=600, what="B")
        delivered = time.monotonic() - started
    finally:
        second.terminate()
        second.wait(timeout=30)
    names = Counter(f["file_name"] for f in sandbox.state()["files"])
    expected = set(rows.values_list("file_name", flat=True))
    return {
        "in_flight": in_flight,
        "left": left,
        "taken_back_s": taken_back,
        "delivered_s": delivered,
        "exactly_once": set(names) == expected and set(names.values()) == {1},
    }


def warm_token() -> None:
    """A fresh token in the cache every worker reads, as the floor has one: a sandbox reset
    forgets the tokens it issued, and a token refresh every two hours is not what is measured."""
    from django.core.cache import cache

    from yonyou.client import TOKEN_CACHE_KEY, get_client

    cache.delete(TOKEN_CACHE_KEY)
    get_client().access_token()


def drain(*, files: int, cap: int, workers: int, sandbox: Sandbox, queue: str) -> dict:
    from django.utils import timezone

    from uploads import services
    from uploads.models import UploadRecord, UploadSlot, UploadStatus

    cluster = start_cluster(cap=cap, workers=workers, queue=queue)
    try:
        # Warm up (workers started, a token cached), then a clean sandbox.
        warm = accept(1)
        services.enqueue_uploads(warm)
        wait_for(
            lambda: UploadRecord.objects.filter(pk__in=warm, status=UploadStatus.SUCCESS).exists(),
            timeout_s=120,
            what="the cluster to start",
        )
        sandbox.reset(0)
        UploadSlot.objects.update(holder_token=None, holder=None, record_id=None, lease_expires_at=None)
        ids = accept(files)
        sandbox.reset(sandbox.latency_ms)
        warm_token()
        UploadRecord.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
        cpu_started = tree_cpu_s(cluster.pid)
        started, dispatched_at = time.monotonic(), time.time()
        services.dispatch_due_uploads(limit=files)
        wait_for(
            lambda: UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.SUCCESS).count() == files,
            timeout_s=files * sandbox.latency_ms / 1000 + 300,
            what="every file delivered",
        )
        elapsed = time.monotonic() - started
        cluster_cpu = tree_cpu_s(cluster.pid) - cpu_started
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
    state = sandbox.state()
    names = Counter(f["file_name"] for f in state["files"])
    expected = set(UploadRecord.objects.filter(pk__in=ids).values_list("file_name", flat=True))
    received = sorted(datetime.fromisoformat(f["received_at"]).timestamp() - dispatched_at for f in state["files"])
    return {
        "seconds": elapsed,
        "cpu_s": cluster_cpu,
        # Where the time goes: until the first call reaches the sandbox (the broker's pickup, the
        # task's start), and after the last one was received (its latency, the outcome, our poll).
        "first_received_s": received[0],
        "last_received_s": received[-1],
        "exactly_once": set(names) == expected and set(names.values()) == {1},
        "max_concurrent": state["max_concurrent_uploads"],
        "attempts": sum(UploadRecord.objects.filter(pk__in=ids).values_list("attempts", flat=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--caps", default="3,10")
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS of the cluster")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--recovery", action="store_true", help="kill -9 a cluster mid-drain instead (cap 3)")
    parser.add_argument(
        "--busy-loops", type=int, default=0, help="processes spinning the CPU for the whole run (a loaded host)"
    )
    parser.add_argument("--cluster-log", help="append the clusters' log lines to this file (to trace a run)")
    args = parser.parse_args()
    global CLUSTER_LOG  # noqa: PLW0603 (a bench script's one option)
    CLUSTER_LOG = args.cluster_log

    data_dir = Path(tempfile.mkdtemp(prefix="upload-drain-"))
    sandbox = None
    # A loaded host, the same for the floor and the drain: processes that only burn CPU.
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy_loops)]
    try:
        os.environ["DATA_DIR"] = str(data_dir)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        queue = f"drain-{os.getpid()}"
        os.environ["Q_CLUSTER_NAME"] = queue
        sandbox = Sandbox(data_dir)
        sandbox.latency_ms = args.latency_ms
        os.environ["YONYOU_TOKEN_URL"] = f"{sandbox.url}/iuap-api-auth"
        os.environ["YONYOU_GATEWAY_URL"] = f"{sandbox.url}/iuap-api-gateway"
        for command in ("migrate", "createcachetable"):
            subprocess.run([sys.executable, str(ROOT / "manage.py"), command, "-v", "0"], cwd=ROOT, check=True)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        print(
            f"{args.files} files, {args.latency_ms} ms per call, Q_WORKERS={args.workers}, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        if args.recovery:
            result = recovery(files=args.files, workers=args.workers, sandbox=sandbox, queue=queue)
            print(
                f"killed host A with {result['in_flight']} in flight and {result['left']} not delivered; host B took "
                f"them back {result['taken_back_s']:.1f} s after it was started and delivered every file after "
                f"{result['delivered_s']:.1f} s; exactly once {result['exactly_once']}; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            return
        for cap in [int(c) for c in args.caps.split(",")]:
            sandbox.reset(args.latency_ms)
            floor, floor_cpu = floor_s(files=args.files, cap=cap)
            result = drain(files=args.files, cap=cap, workers=args.workers, sandbox=sandbox, queue=queue)
            ideal = args.files * args.latency_ms / 1000 / cap
            print(
                f"cap {cap:>2}: drain {result['seconds']:.1f} s = {result['seconds'] / ideal:.2f}× ideal "
                f"{ideal:.1f} s; floor (our client, {cap} threads) {floor:.1f} s = {floor / ideal:.2f}×; "
                f"max concurrent {result['max_concurrent']}, attempts {result['attempts']}, "
                f"exactly once {result['exactly_once']}; load average {os.getloadavg()[0]:.1f}; "
                f"first file received at +{result['first_received_s']:.2f} s, "
                f"last at +{result['last_received_s']:.2f} s; CPU per file: cluster "
                f"{result['cpu_s'] * 1000 / args.files:.1f} ms, floor {floor_cpu * 1000 / args.files:.1f} ms"
            )
    finally:
        for spinner in spinners:
            spinner.kill()
        if sandbox is not None:
            sandbox.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
