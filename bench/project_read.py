"""Cached GET /api/projects/<id>?token=… under 50 concurrent clients, beside a bare Django view
that returns the same JSON from the same row (the floor), in the same run against one gunicorn.

    .venv/bin/python bench/project_read.py [--clients 50] [--requests 4000] [--rounds 3]

Starts its own sandbox and a fresh SQLite database (or uses DATABASE_URL), syncs 30 projects,
makes a customer link to one, then serves the app with gunicorn (config/gunicorn.conf.py, debug
off) on a free port and alternates rounds of the two URLs, printing requests/s, p50, p99 and the
gunicorn workers' CPU time per request (the figure a loaded machine disturbs least).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, *, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def load(url: str, *, clients: int, requests: int) -> tuple[float, list[float]]:
    """`requests` GETs spread over `clients` threads, each with its own kept-alive connection."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = requests // clients

    def client() -> None:
        mine = []
        with httpx.Client(timeout=30) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                response = http.get(url)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def server_cpu_s(master_pid: int) -> float:
    """User + system CPU seconds spent so far by gunicorn's workers (the master's children). Unlike
    requests/s, CPU per request barely moves with what else the machine is doing, so the ratio to
    the floor is readable on a loaded machine too."""
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="yunqiao-bench-"))
    os.environ.setdefault("DATA_DIR", str(data_dir))
    os.environ.update(LOG_LEVEL="WARNING", DJANGO_DEBUG="0", DJANGO_HTTPS="0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.read_floor_settings"
    sandbox_port, web_port = free_port(), free_port()
    os.environ["PROJECTS_REMOTE_URL"] = f"http://127.0.0.1:{sandbox_port}/pm-api/v1"
    children = [
        subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "manage.py"), "sandbox", "--port", str(sandbox_port), "--smtp-port", "0"],
            cwd=REPO_ROOT,
            env={**os.environ, "DATA_DIR": str(data_dir / "sandbox-home")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        wait_for(f"http://127.0.0.1:{sandbox_port}/__sandbox__/state")
        httpx.post(f"http://127.0.0.1:{sandbox_port}/__sandbox__/projects", json={"reset": True, "count": 30})

        from projects import links, sync
        from projects.models import Project

        sync.sync_projects(mode="full")
        link = links.create_link(project=Project.objects.get(remote_id="P00003"))
        token = links.token_for(link)

        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--config",
                    str(REPO_ROOT / "config" / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    str(args.web_workers),
                    "--access-logfile",
                    "/dev/null",
                ],
                cwd=REPO_ROOT,
                env=os.environ.copy(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        base = f"http://127.0.0.1:{web_port}"
        wait_for(f"{base}/api/health")
        urls = {
            "bare view (floor)": f"{base}/bench/bare/P00003",
            "GET /api/projects/<id>": f"{base}/api/projects/P00003?token={token}",
        }
        for url in urls.values():
            load(url, clients=args.clients, requests=args.clients * 4)  # warm up workers and connections
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"database={engine} clients={args.clients} requests/round={args.requests} web_workers={args.web_workers}")
        for round_number in range(1, args.rounds + 1):
            for label, url in urls.items():
                cpu_before = server_cpu_s(children[-1].pid)
                elapsed, latencies = load(url, clients=args.clients, requests=args.requests)
                cpu_ms = (server_cpu_s(children[-1].pid) - cpu_before) * 1000 / len(latencies)
                latencies.sort()
                p99 = latencies[int(len(latencies) * 0.99) - 1]
                print(
                    f"round {round_number} {label}: {len(latencies) / elapsed:,.0f} req/s, "
                    f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
                    f"server CPU {cpu_ms:.2f} ms/request"
                )
    finally:
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=15)


if __name__ == "__main__":
    main()
