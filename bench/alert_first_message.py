"""Time from a failure to the sandbox WeCom robot's message, under a running `make run` (issue 11's
"done when": a failing upload, a failed sync day and a failed job, each one grouped message
within a minute, with nothing configured).

    PORT=8100 SANDBOX_PORT=8101 DATA_DIR=/tmp/yq MAX_RETRY_COUNT=1 make run     # another terminal
    PORT=8100 SANDBOX_PORT=8101 DATA_DIR=/tmp/yq .venv/bin/python bench/alert_first_message.py

(with DATABASE_URL / REDIS_URL set alike on both sides for PostgreSQL + Redis). It runs in the
deployment's settings, against its database: it makes every Yonyou call fail (sandbox fault
`fail_rate` 1, status 503), accepts one photo upload (the cluster uploads it, it fails for good),
queues a run of `sync_yesterday` (the day fails, so does the run), then reads the sandbox's
`wecom_messages` until the three messages of the default robot have arrived. Each failure's time
is the one stored on its row (upload `failed_at`, day `end_time`, run `finished_at`), the
arrival the sandbox's `received_at`.
"""

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"
TITLES = {"upload_failed": "单据照片上传失败", "sync_day_failed": "ERP 单日同步失败", "job_failed": "定时任务失败"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from alerts.models import JobRun
    from sync.models import SyncDay
    from uploads import services as upload_services
    from uploads.models import UploadRecord

    sandbox = f"http://127.0.0.1:{settings.SANDBOX_PORT}"
    robot = settings.ALERT_DEFAULT_ROBOT_KEY
    already = {m["received_at"] for m in httpx.get(f"{sandbox}/__sandbox__/state").json()["wecom_messages"]}
    httpx.post(f"{sandbox}/__sandbox__/faults", json={"fail_rate": 1, "fail_status": 503}).raise_for_status()
    started = time.time()
    business_id = str(int(started * 1000))
    try:
        upload_services.accept_upload(
            uploads=[SimpleUploadedFile("p.jpg", JPEG, "image/jpeg")],
            product_type=None,
            business_id=business_id,
            doc_number=business_id,
            doc_type="销售",
        )
        call_command("run_job", "sync_yesterday", "--queue")
        arrived: dict[str, datetime] = {}
        while len(arrived) < 3 and time.time() - started < args.timeout:
            time.sleep(0.5)
            for message in httpx.get(f"{sandbox}/__sandbox__/state").json()["wecom_messages"]:
                if message.get("key") != robot or message["received_at"] in already:
                    continue
                for rule, title in TITLES.items():
                    if title in message["content"].splitlines()[0] and "已恢复" not in message["content"]:
                        arrived.setdefault(rule, datetime.fromisoformat(message["received_at"]))
    finally:
        httpx.post(f"{sandbox}/__sandbox__/faults", json={"fail_rate": 0}).raise_for_status()
    failed = {
        "upload_failed": UploadRecord.objects.filter(business_id=business_id)
        .values_list("failed_at", flat=True)
        .first(),
        "sync_day_failed": SyncDay.objects.order_by("-end_time").values_list("end_time", flat=True).first(),
        "job_failed": JobRun.objects.filter(job_id="sync_yesterday")
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first(),
    }
    print(f"{'rule':<16} {'failed at (UTC)':<34} {'robot received (UTC)':<34} seconds")
    for rule in TITLES:
        at, got = failed[rule], arrived.get(rule)
        took = f"{(got - at).total_seconds():.1f}" if at and got else "—"
        print(f"{rule:<16} {at.isoformat() if at else '—':<34} {got.isoformat() if got else '—':<34} {took}")


if __name__ == "__main__":
    main()
