import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if this supervisor dies, even by kill -9."""
    with contextlib.suppress(OSError):  # not Linux: children are still stopped on a clean exit
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = (
        "Run the whole local stack in the foreground: gunicorn on 127.0.0.1:PORT, a django-q2 "
        "cluster and the Yonyou sandbox on SANDBOX_PORT. Ctrl-C or SIGTERM stops every child; "
        "if one child exits, the others are stopped too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--no-sandbox", action="store_true", help="do not start the Yonyou sandbox")

    def handle(self, *args, **options):
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for name, argv in self.child_commands(options).items():
            self.children[name] = subprocess.Popen(argv, preexec_fn=_die_with_parent)  # noqa: PLW1509 (no threads here)
            self.stdout.write(f"started {name} (pid {self.children[name].pid})")
        self.stdout.write(f"Yunqiao is serving http://{options['host']}:{options['port']}/  (Ctrl-C stops)")
        exit_code = self.watch()
        self.stop_children()
        sys.exit(exit_code)

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
                "--smtp-port",
                str(settings.SANDBOX_SMTP_PORT),
            ]
        return commands

    def watch(self) -> int:
        while not self.stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"{name} exited with code {code}; stopping the others")
                    return code or 1
            time.sleep(0.5)
        return 0

    def _on_signal(self, signum, frame):
        self.stopping = True

    def stop_children(self, grace_s: float = 15.0) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {grace_s:.0f}s; killing it")
                child.kill()
                child.wait()
