"""Notification delivery: 1,000 notifications through a real qcluster to the sandbox, at its limits.

    .venv/bin/python bench/notification_delivery.py [--robots 5] [--per-robot 40] [--app 200] [--sms 200] [--email 400]

Starts its own sandbox (HTTP + SMTP on free ports) and a `qcluster` (Q_WORKERS, default 2) on a
fresh database: SQLite in a temporary DATA_DIR, or, with DATABASE_URL, a fresh
`<name>_bench_notify` database next to it (REDIS_URL, when set, is the broker). Writes every
notification in one transaction with `enqueue_notification` (delivery starts on commit), then
polls until every row is sent or dead. The mix is chosen so that each limit is hit: a robot takes
20 a minute (WeCom's limit, also the sandbox's), SMS 100 and SMTP 300 (our defaults, which the
sandbox applies too); app messages have no limit. It prints the time until the last row of each
channel was sent, the lower bound the limits allow, how many sends the sandbox refused for being
over a limit (should be 0: our limiter waits instead), and how many messages arrived (should be
exactly one per notification).
"""

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

WINDOW_S = 61.0  # the limiter's window (60 s + its margin)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def fresh_database() -> str:
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_notify"
        import psycopg

        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{bench_name}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
        return f"PostgreSQL ({bench_name})"
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="yunqiao-bench-notify-")
    return "SQLite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", type=int, default=5)
    parser.add_argument("--per-robot", type=int, default=40)
    parser.add_argument("--app", type=int, default=200)
    parser.add_argument("--sms", type=int, default=200)
    parser.add_argument("--email", type=int, default=400)
    parser.add_argument("--timeout-s", type=float, default=900)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    database = fresh_database()
    data_dir = Path(os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="yunqiao-bench-notify-"))
    os.environ["DATA_DIR"] = str(data_dir)
    port, smtp_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "WECOM_ROBOT_URL": f"{sandbox_url}/cgi-bin/webhook/send",
            "WECOM_API_URL": f"{sandbox_url}/cgi-bin",
            "ALIYUN_SMS_URL": f"{sandbox_url}/aliyun-sms/",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.db.models import Count, Max

    from alerts.models import Channel, Notification
    from alerts.outbox import enqueue_notification

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    logs = open(data_dir / "bench-children.log", "wb")  # noqa: SIM115 (closed below)
    manage = str(REPO_ROOT / "manage.py")
    sandbox = subprocess.Popen(
        [sys.executable, manage, "sandbox", "--port", str(port), "--smtp-port", str(smtp_port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DATA_DIR": str(data_dir / "sandbox-home")},
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    cluster = None
    try:
        wait_for(lambda: _answers(sandbox_url), 30, "the sandbox")
        cluster = subprocess.Popen(
            [sys.executable, manage, "qcluster"], cwd=REPO_ROOT, env=os.environ, stdout=logs, stderr=subprocess.STDOUT
        )
        plan = (
            [(Channel.WECOM_ROBOT, f"bench-robot-{r:02d}") for r in range(args.robots) for _ in range(args.per_robot)]
            + [(Channel.WECOM_APP, f"user{i:04d}") for i in range(args.app)]
            + [(Channel.SMS, f"1380013{i:04d}") for i in range(args.sms)]
            + [(Channel.EMAIL, f"ops{i:04d}@example.com") for i in range(args.email)]
        )
        started = time.time()
        with transaction.atomic():
            for index, (channel, address) in enumerate(plan):
                enqueue_notification(
                    channel=channel,
                    address=address,
                    title=f"预警 #{index}：物料缺料",
                    text=f"第 {index} 条：物料 M{index:05d} 库存低于安全库存，请尽快补货。",
                    link=f"http://127.0.0.1:8000/alerts/{index}/",
                    idempotency_key=f"bench-{started}-{index}",
                )
        enqueued_s = time.time() - started

        def finished():
            open_rows = Notification.objects.exclude(status__in=("sent", "dead")).count()
            return open_rows == 0

        wait_for(finished, args.timeout_s, "every notification to be sent")
        total_s = time.time() - started
        by_status = dict(Notification.objects.values_list("status").annotate(n=Count("id")))
        last_sent = dict(Notification.objects.values_list("channel").annotate(last=Max("sent_at")))
        state = httpx.get(f"{sandbox_url}/__sandbox__/state", timeout=10).json()
    finally:
        for child in (cluster, sandbox):
            if child is not None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        logs.close()

    counts = {
        Channel.WECOM_ROBOT: (args.per_robot, 20),
        Channel.WECOM_APP: (args.app, 0),
        Channel.SMS: (args.sms, 100),
        Channel.EMAIL: (args.email, 300),
    }
    received = {
        "wecom_robot": sum(1 for m in state["wecom_messages"] if m["kind"] == "robot"),
        "wecom_app": sum(1 for m in state["wecom_messages"] if m["kind"] == "app"),
        "sms": len(state["sms_messages"]),
        "email": len(state["emails"]),
    }
    requests = state["requests"]
    refused = {
        "wecom_robot": requests.get("wecom_robot", 0) - received["wecom_robot"],
        "wecom_app": requests.get("wecom_app", 0) - received["wecom_app"],
        "sms": requests.get("sms", 0) - received["sms"],
        "email": requests.get("smtp", 0) - received["email"],
    }
    print(f"database: {database}; broker: {'Redis' if os.environ.get('REDIS_URL') else 'ORM'}")
    print(f"notifications: {len(plan)} written in one transaction in {enqueued_s:.2f} s; statuses {by_status}")
    print(f"all delivered after {total_s:.1f} s ({len(plan) / total_s:.1f}/s)")
    for channel, (per_bucket, limit) in counts.items():
        bound = (math.ceil(per_bucket / limit) - 1) * WINDOW_S if limit else 0.0
        done = last_sent.get(channel)
        after = (done.timestamp() - started) if done else float("nan")
        print(
            f"  {channel:12} last sent after {after:6.1f} s (limits allow {bound:5.1f} s); "
            f"received {received[channel]}, refused by the sandbox {refused[channel]}"
        )


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/__sandbox__/state", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
