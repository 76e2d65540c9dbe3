import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand

from config import supervision

_PR_SET_PDEATHSIG = 1

logger = logging.getLogger("yunqiao.runstack")


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if this supervisor dies, even by kill -9."""
    with contextlib.suppress(OSError):  # not Linux: children are still stopped on a clean exit
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process and what the supervisor remembers of its deaths."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    state: str = supervision.STARTING
    started_at: float = 0.0
    restart_at: float = 0.0
    restarts: int = 0
    last_exit_code: int | None = None
    recent_exits: deque = field(default_factory=deque)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class Command(BaseCommand):
    help = (
        "Run the whole local stack in the foreground: gunicorn on 127.0.0.1:PORT, a django-q2 "
        "cluster and the Yonyou sandbox on SANDBOX_PORT. A child that exits is restarted after a "
        "backoff (RUNSTACK_RESTART_BACKOFF_S doubling up to RUNSTACK_RESTART_BACKOFF_MAX_S) while "
        "the others keep serving; one that exits RUNSTACK_CRASH_LOOP_EXITS times within "
        "RUNSTACK_CRASH_LOOP_WINDOW_S is logged as an error and named by /api/health. The state of "
        "every child is kept in DATA_DIR/runstack.json. Only Ctrl-C or SIGTERM stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--no-sandbox", action="store_true", help="do not start the Yonyou sandbox")

    def handle(self, *args, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.children = [Child(name, argv) for name, argv in self.child_commands(options).items()]
        for child in self.children:
            self.start(child)
        self.write_status()
        self.stdout.write(f"Yunqiao is serving http://{options['host']}:{options['port']}/  (Ctrl-C stops)")
        self.stdout.flush()
        try:
            while not self.stopping:
                self.supervise_once(time.monotonic())
                time.sleep(0.2)
        finally:
            self.stop_children()
            supervision.remove_status(settings.DATA_DIR)

    def child_commands(self, options) -> dict[str, list[str]]:
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--config",
                str(settings.BASE_DIR / "config" / "gunicorn.conf.py"),
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["web_workers"]),
            ],
            "worker": [python, manage, "qcluster"],
        }
        if not options["no_sandbox"] and "sandbox" in get_commands():
            commands["sandbox"] = [
                python,
                manage,
                "sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(settings.SANDBOX_PORT),
            ]
        return commands

    def start(self, child: Child) -> None:
        # Its own process group, so that whatever it forked can be cleaned up after it dies.
        child.process = subprocess.Popen(child.argv, preexec_fn=_die_with_parent, start_new_session=True)  # noqa: PLW1509 (no threads here)
        child.started_at = time.monotonic()
        if child.state != supervision.FAILING:
            child.state = supervision.RUNNING
        logger.info("started %s (pid %s)", child.name, child.pid, extra={"child": child.name, "pid": child.pid})

    def supervise_once(self, now: float) -> None:
        """Notice exits, restart children whose backoff is over, and record the state."""
        changed = False
        for child in self.children:
            if child.process is None:
                if now >= child.restart_at and not self.stopping:
                    child.restarts += 1
                    self.start(child)
                    changed = True
                continue
            code = child.process.poll()
            if code is None:
                if (
                    child.state == supervision.FAILING
                    and now - child.started_at >= settings.RUNSTACK_CRASH_LOOP_WINDOW_S
                ):
                    child.state = supervision.RUNNING
                    logger.warning("%s has stayed up for %.0f s again", child.name, now - child.started_at)
                    changed = True
                continue
            self.on_exit(child, code, now)
            changed = True
        if changed:
            self.write_status()

    def on_exit(self, child: Child, code: int, now: float) -> None:
        _kill_leftovers(child.process)
        child.process = None
        child.last_exit_code = code
        window = settings.RUNSTACK_CRASH_LOOP_WINDOW_S
        child.recent_exits.append(now)
        while child.recent_exits and now - child.recent_exits[0] > window:
            child.recent_exits.popleft()
        exits = len(child.recent_exits)
        delay = min(
            settings.RUNSTACK_RESTART_BACKOFF_S * 2 ** (exits - 1),
            settings.RUNSTACK_RESTART_BACKOFF_MAX_S,
        )
        child.restart_at = now + delay
        context = {"child": child.name, "exit_code": code, "exits_in_window": exits, "restart_in_s": delay}
        if exits >= settings.RUNSTACK_CRASH_LOOP_EXITS:
            child.state = supervision.FAILING
            logger.error(
                "%s KEEPS DYING: exited with code %s, %d times in %.0f s; restarting in %.1f s",
                child.name,
                code,
                exits,
                window,
                delay,
                extra=context,
            )
        else:
            child.state = supervision.RESTARTING
            logger.warning(
                "%s exited with code %s; restarting it in %.1f s, the others keep serving",
                child.name,
                code,
                delay,
                extra=context,
            )

    def write_status(self) -> None:
        supervision.write_status(
            settings.DATA_DIR,
            {
                child.name: {
                    "state": child.state,
                    "pid": child.pid,
                    "restarts": child.restarts,
                    "last_exit_code": child.last_exit_code,
                }
                for child in self.children
            },
        )

    def _on_signal(self, signum, frame):
        self.stopping = True

    def stop_children(self, grace_s: float = 15.0) -> None:
        running = [child for child in self.children if child.process and child.process.poll() is None]
        logger.info("stopping %s", ", ".join(child.name for child in running) or "nothing")
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("%s did not stop in %.0f s; killing it", child.name, grace_s)
                child.process.kill()
                child.process.wait()
            _kill_leftovers(child.process)


def _kill_leftovers(process: subprocess.Popen) -> None:
    """A child killed with -9 cannot stop what it forked (qcluster's workers, gunicorn's): they
    would go on running beside the replacement, so its whole process group goes with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
