"""The concurrency cap: YONYOU_MAX_CONCURRENCY leased slots, shared by every worker on every host,
and the renewal that keeps a live upload's row and slot leases from lapsing."""

import contextlib
import logging
import os
import secrets
import threading
from datetime import timedelta
from pathlib import Path

from django import db
from django.conf import settings
from django.db import connection
from django.utils import timezone

from uploads.models import UploadRecord, UploadSlot, UploadStatus

logger = logging.getLogger(__name__)


def _ensure_slots(count: int) -> None:
    existing = UploadSlot.objects.filter(number__lte=count).count()
    if existing < count:
        UploadSlot.objects.bulk_create([UploadSlot(number=n) for n in range(1, count + 1)], ignore_conflicts=True)


def this_worker() -> str:
    """Who holds a lease: "host:pid" of this process."""
    return f"{settings.UPLOAD_WORKER_HOST}:{os.getpid()}"


def dead_local_holders(holders: set[str]) -> set[str]:
    """The holders among `holders` that ran on this host and whose process is gone (a zombie
    counts as gone). Holders on other hosts are left to their lease."""
    host = settings.UPLOAD_WORKER_HOST
    dead = set()
    for holder in holders:
        holder_host, _sep, pid_text = (holder or "").rpartition(":")
        if holder_host != host or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(holder)
            continue
        except PermissionError:
            continue  # alive, another user's
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                dead.add(holder)
    return dead


def claim_slot(record_id: int | None) -> str | None:
    """Take one of YONYOU_MAX_CONCURRENCY slots, free or with an expired lease; None when all are
    busy. Never waits. One statement finds and takes the slot: on SQLite it runs under the one
    write lock, and on PostgreSQL workers claiming at once lock different slots (SKIP LOCKED), so
    a worker filling the free slots with threads does not lose round trips to their races."""
    tokens = claim_slots(1, record_id=record_id)
    return tokens[0] if tokens else None


def claim_slots(count: int, *, record_id: int | None = None) -> list[str]:
    """Take up to `count` free slots in one statement (see `claim_slot`); their tokens, one each.
    A worker filling every free slot at once asks the database once, not once per slot: on SQLite
    each claim is a write that waits for the one lock, in sleeps that grow while others hold it,
    which spread the first calls over a tenth of a second."""
    cap = max(1, settings.YONYOU_MAX_CONCURRENCY)
    tokens = _take_free_slots(cap, record_id, count)
    if len(tokens) < count and UploadSlot.objects.filter(number__lte=cap).count() < cap:
        _ensure_slots(cap)  # a first start, or a raised cap
        tokens += _take_free_slots(cap, record_id, count - len(tokens))
    return tokens


def _take_free_slots(cap: int, record_id: int | None, count: int) -> list[str]:
    now = timezone.now()
    # Each slot's token is this claim's random prefix and the slot's number: unique per slot, so
    # `release_slot` frees exactly one (the column holds 32 characters: 24 + "-" + 7 digits).
    prefix = secrets.token_hex(12) + "-"
    ops = connection.ops
    table = ops.quote_name(UploadSlot._meta.db_table)
    when = ops.adapt_datetimefield_value(now)
    free = "number <= %s AND (holder_token IS NULL OR lease_expires_at < %s)"
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # Our own table and column names; every value is a parameter. A materialized CTE, not
    # `number IN (SELECT … LIMIT n)`: PostgreSQL may run such a subquery more than once in one
    # UPDATE, and take more than n slots, past the cap.
    chosen = (
        f"WITH chosen AS MATERIALIZED (SELECT number FROM {table} WHERE {free} ORDER BY number LIMIT %s{skip_locked})"  # noqa: S608
    )
    take = (
        "holder_token = CAST(%s AS VARCHAR(25)) || CAST(number AS VARCHAR(7)), holder = %s, record_id = %s, "
        "lease_expires_at = %s"
    )
    sql = f"{chosen} UPDATE {table} SET {take} WHERE number IN (SELECT number FROM chosen) AND {free} RETURNING number"  # noqa: S608
    expires = ops.adapt_datetimefield_value(now + timedelta(seconds=settings.UPLOAD_LEASE_S))
    with connection.cursor() as cursor:
        cursor.execute(sql, [cap, when, count, prefix, this_worker(), record_id, expires, cap, when])
        return [f"{prefix}{number}" for (number,) in cursor.fetchall()]


def release_slot(token: str) -> None:
    UploadSlot.objects.filter(holder_token=token).update(
        holder_token=None, holder=None, record_id=None, lease_expires_at=None
    )


def hold_slot(token: str, *, seconds: float) -> None:
    """Keep a slot taken for `seconds` more, then let its lease free it (see `claim_slot`)."""
    UploadSlot.objects.filter(holder_token=token).update(lease_expires_at=timezone.now() + timedelta(seconds=seconds))


def renew_leases(*, record_id: int, lease_token: str, slot_token: str) -> bool:
    """Push back the expiry of a live attempt's row lease and slot lease; False if the row's lease
    was lost (recovered or changed by someone else), so the caller knows its claim is gone."""
    now = timezone.now()
    expires = now + timedelta(seconds=settings.UPLOAD_LEASE_S)
    # The slot's `record_id` catches up with the row it works on now (for whoever looks at slots).
    UploadSlot.objects.filter(holder_token=slot_token).update(lease_expires_at=expires, record_id=record_id)
    return bool(
        UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease_token).update(
            lease_expires_at=expires, updated_at=now
        )
    )


class SlotLeases:
    """The row a slot's holder is sending now, whose lease `slot_leases_kept_alive` renews."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[int, str] | None = None

    @contextlib.contextmanager
    def sending(self, *, record_id: int, lease_token: str):
        with self._lock:
            self._current = (record_id, lease_token)
        try:
            yield
        finally:
            with self._lock:
                self._current = None

    def current(self) -> tuple[int, str] | None:
        with self._lock:
            return self._current


@contextlib.contextmanager
def slot_leases_kept_alive(slot_token: str):
    """Renew the slot's lease, and the lease of the row it is sending (`SlotLeases.sending`),
    every third of UPLOAD_LEASE_S while the block runs, from a thread of its own: the upload call
    blocks this one for as long as the remote takes. One thread for every row the holder drains,
    not one per row: starting and joining a thread costs two thread switches between calls."""
    leases = SlotLeases()
    stop = threading.Event()
    interval = settings.UPLOAD_LEASE_S / 3

    def keep_alive() -> None:
        try:
            while not stop.wait(interval):
                sending = leases.current()
                try:
                    if sending is None:
                        hold_slot(slot_token, seconds=settings.UPLOAD_LEASE_S)
                        continue
                    record_id, lease_token = sending
                    renewed = renew_leases(record_id=record_id, lease_token=lease_token, slot_token=slot_token)
                    # Not renewed because the attempt just ended is fine; while it still runs, the
                    # row was taken back (recovered or changed by someone else): say so.
                    if not renewed and leases.current() == sending:
                        logger.warning("upload lease lost while uploading", extra={"record_id": record_id})
                except Exception:
                    # A database hiccup: the next beat tries again, well before the lease ends.
                    logger.exception("could not renew upload lease", extra={"slot": slot_token[:8]})
        finally:
            db.connection.close()  # this thread's own connection

    beat = threading.Thread(target=keep_alive, name=f"upload-lease-{slot_token[:8]}", daemon=True)
    beat.start()
    try:
        yield leases
    finally:
        stop.set()
        beat.join()
