"""Real probes of the parts Yunqiao needs: the database, the task broker, the worker cluster.

/api/health is public, so a failure is only named there; its exception (which may carry host
names, user names or paths) goes to the log, with the request id the answer carries.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django_q.brokers import Broker, get_broker
from django_q.status import Stat

from config.supervision import RUNNING, supervised_processes

logger = logging.getLogger(__name__)

PROBE_FAILED = "probe failed; the detail is in the server log"


@dataclass
class Probe:
    ok: bool
    detail: str


def probe_database() -> Probe:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means "down"
        logger.exception("health: the database probe failed")
        return Probe(False, PROBE_FAILED)
    return Probe(True, connection.vendor)


def probe_broker(broker: Broker | None = None) -> Probe:
    """Ping the broker for real: the ORM broker's ping() is a constant, so count its queue."""
    try:
        broker = broker or get_broker()
        if broker.__class__.__name__ == "ORM":
            broker.queue_size()
        else:
            broker.ping()
        return Probe(True, broker.info())
    except Exception:
        logger.exception("health: the broker probe failed")
        return Probe(False, PROBE_FAILED)


def probe_cluster(broker: Broker | None = None) -> Probe:
    """Clusters publish their stats to the shared cache every few seconds; none means no workers."""
    try:
        stats = Stat.get_all(broker=broker or get_broker())
    except Exception:
        logger.exception("health: reading the cluster stats failed")
        return Probe(False, PROBE_FAILED)
    running = [stat for stat in stats if stat.status not in ("Stopped", "Stopping")]
    if not running:
        return Probe(False, "no cluster running")
    workers = sum(len(stat.workers) for stat in running)
    return Probe(True, f"{len(running)} cluster(s), {workers} worker(s)")


def health_report() -> tuple[bool, dict]:
    """The body of /api/health. Only the database and the broker decide healthy or not:
    without a cluster, requests are still accepted and their work waits in the queue. A process
    that `runstack` supervises on this host and that is not running makes it "degraded"."""
    database = probe_database()
    broker = probe_broker() if database.ok or not _broker_uses_database() else Probe(False, "database down")
    cluster = probe_cluster() if broker.ok else Probe(False, "broker down")
    healthy = database.ok and broker.ok
    body = {
        "status": "ok" if healthy else "error",
        "database": "ok" if database.ok else "down",
        "broker": "ok" if broker.ok else "down",
        "cluster": "ok" if cluster.ok else "down",
        "detail": {"database": database.detail, "broker": broker.detail, "cluster": cluster.detail},
    }
    failing = [name for name, probe in (("database", database), ("broker", broker)) if not probe.ok]
    processes = supervised_processes(settings.DATA_DIR)
    if processes is not None:
        body["processes"] = processes
        failing += [name for name, state in processes.items() if state != RUNNING]
        if healthy and failing:
            body["status"] = "degraded"
    if failing:
        body["failing"] = failing
    return healthy, body


def _broker_uses_database() -> bool:
    from django_q.conf import Conf

    return bool(Conf.ORM)
