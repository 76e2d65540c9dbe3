"""`make run` as people run it: real processes on free ports with a fresh DATA_DIR, killed with -9."""

import json
import os
import re
import signal
import stat
import subprocess
import sys

import httpx
import pytest

from tests.conftest import REPO_ROOT, free_port, wait_until
from tests.uploads.conftest import png_bytes

pytestmark = [pytest.mark.timeout(300), pytest.mark.first_pass_only]


class Stack:
    def __init__(self, process: subprocess.Popen, env: dict, data_dir, port: int, log_path):
        self.process = process
        self.env = env
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def status(self) -> dict:
        try:
            return json.loads((self.data_dir / "runstack.json").read_text())
        except (OSError, ValueError):
            return {}

    def child(self, name: str) -> dict:
        return self.status().get("children", {}).get(name, {})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.url}/api/health", timeout=10)

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"make run exited with {self.process.returncode}:\n{self.log()[-3000:]}")
        try:
            return self.health().status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """`make run` in its own process group (as in a terminal), on SQLite and the ORM broker in a
    temporary DATA_DIR whatever the test run uses, with a short restart backoff."""
    data_dir = tmp_path_factory.mktemp("runstack") / "data"
    log_path = data_dir.parent / "make-run.log"
    # Not the test run's database or broker, nor its make's flags and variables (under `make test`).
    outer = ("DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if k not in outer}
    env = {k: v for k, v in env.items() if not k.startswith("DJANGO_")}
    port = free_port()
    env.update(
        PORT=str(port),
        SANDBOX_PORT=str(free_port()),
        # Its own SMTP port too: the default one may be held by another stack on this host.
        SANDBOX_SMTP_PORT=str(free_port()),
        DATA_DIR=str(data_dir),
        WEB_WORKERS="1",
        Q_WORKERS="1",
        ADMIN_PASSWORD="runstack-test-pw",
        RUNSTACK_RESTART_BACKOFF_S="0.2",
        RUNSTACK_CRASH_LOOP_EXITS="3",
        # Long enough that every exit of a test counts, whatever the machine's speed.
        RUNSTACK_CRASH_LOOP_WINDOW_S="3600",
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "-s", "run"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack = Stack(process, env, data_dir, port, log_path)
    try:
        wait_until(stack.answers, timeout_s=180, interval_s=0.5, message="make run to serve /api/health")
        wait_until(
            lambda: all(child.get("state") == "running" for child in stack.status()["children"].values()),
            timeout_s=30,
            message="every child running",
        )
        yield stack
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # what Ctrl-C does to the terminal's process group
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_run_serves_plain_http_with_debug_off(stack):
    login = httpx.get(f"{stack.url}/accounts/login/", timeout=10)
    assert login.status_code == 200  # not a redirect to https:// on a local machine
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', login.text).group(1)
    assert httpx.get(f"{stack.url}{stylesheet}", timeout=10).status_code == 200  # static files without debug
    missing = httpx.get(f"{stack.url}/no-such-page/", timeout=10)
    assert missing.status_code == 404
    assert "页面不存在" in missing.text
    assert "admin/" not in missing.text  # debug's 404 lists every URL pattern
    assert "URLconf" not in missing.text


def test_everything_in_data_dir_is_readable_by_this_account_only(stack):
    output = subprocess.run(
        [sys.executable, "manage.py", "drf_create_token", "admin"],
        cwd=REPO_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    key = re.search(r"Generated token (\w+) for user", output).group(1)
    response = httpx.post(
        f"{stack.url}/api/upload",
        headers={"Authorization": f"Token {key}"},
        data={"business_id": "1836660026080493581", "doc_number": "SO-PERM-1", "doc_type": "销售"},
        files=[("files", ("photo.png", png_bytes(), "image/png"))],
        timeout=30,
    )
    assert response.status_code == 200, response.text
    sandbox = f"http://127.0.0.1:{stack.env['SANDBOX_PORT']}/__sandbox__/state"
    wait_until(lambda: httpx.get(sandbox, timeout=10).json()["files"], timeout_s=60, message="the photo delivered")

    names = {path.relative_to(stack.data_dir).as_posix(): path for path in stack.data_dir.rglob("*")}
    for required in ("yunqiao.sqlite3", "yunqiao.sqlite3-wal", "yunqiao.sqlite3-shm", ".secret_key", "sandbox"):
        assert required in names
    assert any(name.startswith("media/") and path.is_file() for name, path in names.items())
    assert stat.S_IMODE(stack.data_dir.stat().st_mode) == 0o700
    modes = {name: oct(stat.S_IMODE(path.stat().st_mode)) for name, path in names.items()}
    assert {name: mode for name, mode in modes.items() if mode != ("0o700" if names[name].is_dir() else "0o600")} == {}


def test_a_worker_killed_with_9_is_restarted_while_the_web_keeps_serving(stack):
    before = stack.child("worker")
    os.kill(before["pid"], signal.SIGKILL)

    after = wait_until(
        lambda: (child := stack.child("worker")).get("state") == "running" and child["pid"] != before["pid"] and child,
        timeout_s=60,
        message="the worker to be restarted",
    )
    assert after["restarts"] == before["restarts"] + 1
    assert after["last_exit_code"] == -9
    # What the killed qcluster had forked went with it: no second, headless cluster.
    wait_until(lambda: _group_gone(before["pid"]), timeout_s=10, message="the old worker's processes to be gone")
    assert "worker exited with code -9; restarting it in" in stack.log()
    response = stack.health()
    assert response.status_code == 200
    assert response.json()["processes"] == {"web": "running", "worker": "running", "sandbox": "running"}
    assert stack.process.poll() is None


def test_a_child_that_keeps_dying_is_logged_loudly_and_named_by_health(stack):
    for _ in range(3):  # RUNSTACK_CRASH_LOOP_EXITS
        pid = wait_until(lambda: stack.child("sandbox").get("pid"), timeout_s=60, message="a sandbox process")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda p=pid: stack.child("sandbox").get("pid") != p, timeout_s=30, message="the exit noticed")

    assert wait_until(lambda: stack.child("sandbox").get("state") == "failing", timeout_s=30, message="failing")
    assert "sandbox KEEPS DYING" in stack.log()
    body = stack.health().json()
    assert body["status"] == "degraded"
    assert body["processes"]["sandbox"] == "failing"
    assert body["failing"] == ["sandbox"]
    # Still restarted: a crash loop that ends (a port freed, a disk cleaned) heals by itself.
    wait_until(lambda: stack.child("sandbox").get("pid"), timeout_s=60, message="the sandbox started again")
    assert stack.health().status_code == 200


def test_sigterm_stops_every_child_and_removes_the_status_file(stack):
    status = stack.status()
    pids = [child["pid"] for child in status["children"].values() if child["pid"]]
    os.killpg(stack.process.pid, signal.SIGTERM)
    stack.process.wait(timeout=60)  # make itself dies of the signal; runstack stops the children
    wait_until(lambda: _gone(status["supervisor_pid"]), timeout_s=60, message="runstack to stop its children")
    for pid in pids:
        assert _gone(pid) and _group_gone(pid)
    assert not (stack.data_dir / "runstack.json").exists()
