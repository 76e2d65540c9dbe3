"""The alerting ticker: what makes a group's message leave at its window's end, not at the next
minute-granular schedule (django-q2 has no delayed tasks, and checks its schedules every 30 s).

Every qcluster worker process runs `keep_ticking` in a thread (started by the same `post_spawn`
hook as the uploads heartbeat). Every ALERT_TICK_S it looks at a few `AlertTimer` rows, shared by
every host, and does the work of each one that is due, after winning it with a conditional UPDATE
(several tickers on several hosts: one wins, the others do nothing; no lock lives in memory):

- `evaluate`: the rules of `check_system_alerts` are evaluated every ALERT_EVALUATE_EVERY_S, so a
  failed sync day or job is an alert within seconds (the job itself stays, with its run record).
- `dispatch`: one dispatch pass. The timer is brought forward (`wake_dispatch_by`) by whoever
  makes a message due later: a raised alert (to its group_wait end), a resolved one (now), and the
  pass itself (to the end of the earliest window still running, or the earliest repeat).
- due outbox rows (retries, rate-limited rows whose slot has come) go to the workers.

The minute jobs (`dispatch_alert_notifications`, the outbox sweeps) stay as the backstop: a
ticker that died after winning a timer delays a message by a minute, it does not lose it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django import db
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from alerts.alerting.models import AlertTimer

logger = logging.getLogger(__name__)

EVALUATE = "evaluate"
DISPATCH = "dispatch"


def wake_dispatch_by(at: datetime) -> None:
    """Make a dispatch pass due no later than `at` (earlier wakes are kept)."""
    lowered = (
        AlertTimer.objects.filter(name=DISPATCH).filter(Q(due_at__isnull=True) | Q(due_at__gt=at)).update(due_at=at)
    )
    if not lowered and not AlertTimer.objects.filter(name=DISPATCH).exists():
        AlertTimer.objects.bulk_create([AlertTimer(name=DISPATCH, due_at=at)], ignore_conflicts=True)


def claim(name: str, *, now: datetime, next_due: datetime | None) -> bool:
    """Win the timer `name` if it is due: move it to `next_due` by a conditional UPDATE on the
    value read, so of several tickers exactly one wins each due time. A timer never written yet
    is created due now."""
    row = AlertTimer.objects.filter(name=name).values_list("due_at", flat=True)[:1]
    if not row:
        AlertTimer.objects.bulk_create([AlertTimer(name=name, due_at=now)], ignore_conflicts=True)
        row = AlertTimer.objects.filter(name=name).values_list("due_at", flat=True)[:1]
    due_at = row[0] if row else None
    if due_at is None or due_at > now:
        return False
    return bool(AlertTimer.objects.filter(name=name, due_at=due_at).update(due_at=next_due))


def tick(*, now: datetime | None = None) -> dict:
    """One tick: evaluate, dispatch and hand due outbox rows to the workers, each when due."""
    from alerts.alerting.dispatch import dispatch_alert_notifications
    from alerts.alerting.jobs import evaluate_system_rules
    from alerts.redelivery import dispatch_due_notifications

    now = now or timezone.now()
    done: dict = {}
    if claim(EVALUATE, now=now, next_due=now + timedelta(seconds=settings.ALERT_EVALUATE_EVERY_S)):
        done[EVALUATE] = evaluate_system_rules(now=now)
    # The dispatch pass brings the timer forward again for whatever it leaves waiting.
    if claim(DISPATCH, now=now, next_due=None):
        done[DISPATCH] = dispatch_alert_notifications(now=now)
    handed = dispatch_due_notifications(now=now)
    if handed:
        done["notifications"] = handed
    return done


def keep_ticking() -> threading.Thread:
    """In a worker process: tick every ALERT_TICK_S from a thread of its own (a task may hold the
    worker's main thread for minutes). One per process, however often it is asked."""
    with _start_lock:
        running = _started.get("thread")
        if running is not None and running.is_alive():
            return running

    def run() -> None:
        while True:
            try:
                tick()
            except Exception:
                # The database away for a moment: the next tick tries again.
                logger.exception("alerting tick failed")
                db.connection.close()
            threading.Event().wait(settings.ALERT_TICK_S)

    with _start_lock:
        thread = _started["thread"] = threading.Thread(target=run, name="alerting-ticker", daemon=True)
        thread.start()
        return thread


_started: dict[str, threading.Thread] = {}
_start_lock = threading.Lock()
