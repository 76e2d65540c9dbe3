"""Shared fixtures: users of each kind, API clients, and real child processes (qcluster) that
share the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

REPO_ROOT = Path(__file__).resolve().parent.parent


def second_pass_of_make_test() -> bool:
    """`make test` runs the suite on SQLite, then again on TEST_DATABASE_URL / TEST_REDIS_URL."""
    return bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")) and bool(
        os.environ.get("TEST_DATABASE_URL") or os.environ.get("TEST_REDIS_URL")
    )


def pytest_collection_modifyitems(config, items):
    """The slow whole-stack tests of the embedded default (`make run`, the browser) run once per
    `make test`, on its SQLite pass; the database-specific tests run on both passes."""
    if not second_pass_of_make_test():
        return
    skip = pytest.mark.skip(reason="whole-stack test of the embedded default: runs on make test's SQLite pass")
    for item in items:
        if item.get_closest_marker("first_pass_only"):
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_manifest():
    """Pages render {% static %}; tests run without collectstatic, so skip the manifest. The
    test client speaks plain HTTP, so the HTTPS redirect of a debug-off deployment is off. Request
    rates are not limited (their counts outlive transactional tests in the cache); the throttle
    tests set the rates they test."""
    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        SECURE_SSL_REDIRECT=False,
        API_THROTTLE_RATES={},
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Users made by the tests get MD5 hashes: PBKDF2's million rounds cost about 0.4 s per user
    made or signed in, on hundreds of tests. Real hashers stay listed, so hashes made by a child
    process (`ensure_admin` under `make run`) still verify."""
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    ):
        yield


def make_user(django_user_model, username: str, *, groups=(), **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def field_user(django_user_model):
    return make_user(django_user_model, "field1", groups=["field"])


@pytest.fixture
def staff_user(django_user_model):
    return make_user(django_user_model, "staff1", groups=["staff"], is_staff=True)


@pytest.fixture
def outsider(django_user_model):
    """Logged in, but in no group: may not upload or operate anything."""
    return make_user(django_user_model, "outsider1")


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture
def field_api(field_user):
    client = APIClient()
    client.force_authenticate(field_user)
    return client


@pytest.fixture
def staff_api(staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


def test_database_url() -> str:
    """A URL for the test database, so that child processes use the same one as the tests."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DATA_DIR": str(settings.DATA_DIR)}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen, *, timeout_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if the child has not exited within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(condition, *, timeout_s: float = 20.0, interval_s: float = 0.1, message: str = "condition"):
    """Poll `condition` until it returns something truthy; fail with `message` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {message}")


@pytest.fixture(scope="session")
def qcluster(django_db_setup, django_db_blocker, sandbox_server):
    """A real `manage.py qcluster` process on the test database (and Redis when configured),
    whose Yonyou client talks to the session's sandbox."""
    with django_db_blocker.unblock():
        env = child_env(
            YONYOU_TOKEN_URL=sandbox_server.token_url,
            YONYOU_GATEWAY_URL=sandbox_server.gateway_url,
            **sandbox_server.channel_settings(),
        )
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    stop_process(process, timeout_s=15)


# --- The Yonyou sandbox: a real HTTP server in its own process --------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxControl:
    """Talks to a running sandbox's control API (`/__sandbox__/...`)."""

    def __init__(self, url: str):
        self.url = url

    @property
    def token_url(self) -> str:
        return f"{self.url}/iuap-api-auth"

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/iuap-api-gateway"

    def channel_settings(self) -> dict:
        """Settings (and child-process environment) pointing every notification channel here."""
        return {
            "WECOM_ROBOT_URL": f"{self.url}/cgi-bin/webhook/send",
            "WECOM_API_URL": f"{self.url}/cgi-bin",
            "ALIYUN_SMS_URL": f"{self.url}/aliyun-sms/",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp_port),
        }

    def state(self) -> dict:
        import httpx

        return httpx.get(f"{self.url}/__sandbox__/state", timeout=10).raise_for_status().json()

    def faults(self, **faults) -> dict:
        import httpx

        return httpx.post(f"{self.url}/__sandbox__/faults", json=faults, timeout=10).raise_for_status().json()

    def documents(self, doc_type: str, day) -> list[dict]:
        """Every record the sandbox serves for one document type and business day, read from its
        control API (not through our client): the remote's own truth."""
        import httpx

        answer = httpx.get(
            f"{self.url}/__sandbox__/documents", params={"doc_type": doc_type, "date": str(day)}, timeout=30
        )
        return answer.raise_for_status().json()["records"]

    def reset(self) -> None:
        import httpx

        httpx.post(f"{self.url}/__sandbox__/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    """One sandbox process for the session, on free ports (HTTP and SMTP), with its own data directory."""
    port, smtp_port = free_port(), free_port()
    data_dir = tmp_path_factory.mktemp("sandbox-data")
    log = open(data_dir / "sandbox.log", "wb")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO_ROOT / "manage.py"),
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp_port),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "DATA_DIR": str(data_dir)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    control = SandboxControl(f"http://127.0.0.1:{port}")
    control.smtp_port = smtp_port
    control.process = process
    control.data_dir = data_dir

    def answers():
        if process.poll() is not None:
            raise AssertionError(f"sandbox exited with {process.returncode}; see {data_dir / 'sandbox.log'}")
        try:
            control.state()
        except Exception:
            return False
        return True

    wait_until(answers, timeout_s=30, message="the sandbox to answer")
    yield control
    stop_process(process)
    log.close()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """A freshly reset sandbox that this process's Yonyou client talks to, with no cached token."""
    from django.core.cache import cache

    sandbox_server.reset()
    settings.YONYOU_TOKEN_URL = sandbox_server.token_url
    settings.YONYOU_GATEWAY_URL = sandbox_server.gateway_url
    for name, value in sandbox_server.channel_settings().items():
        setattr(settings, name, int(value) if name == "EMAIL_PORT" else value)
    tokens = ("yonyou:access_token", "wecom:access_token")
    cache.delete_many(tokens)
    yield sandbox_server
    cache.delete_many(tokens)


# --- An S3-compatible object store: moto's server mode, a real HTTP endpoint in its own process --


class ObjectStoreServer:
    """A running moto server: its endpoint, the credentials it accepts, and a boto3 client."""

    access_key = "testing"
    secret_key = "testing"
    region = "us-east-1"

    def __init__(self, url: str):
        self.url = url

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The settings (as environment) of a child process storing into `bucket`."""
        return {
            "STORAGE_S3_BUCKET": bucket,
            "STORAGE_S3_ENDPOINT_URL": self.url,
            "STORAGE_S3_REGION": self.region,
            "STORAGE_S3_ACCESS_KEY_ID": self.access_key,
            "STORAGE_S3_SECRET_ACCESS_KEY": self.secret_key,
            "STORAGE_S3_ADDRESSING_STYLE": "path",
        }

    def storages(self, bucket: str) -> dict:
        """settings.STORAGES for this process, as config/settings.py builds it from `env(bucket)`."""
        from botocore.config import Config

        options = {
            "bucket_name": bucket,
            "endpoint_url": self.url,
            "region_name": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "default_acl": None,
            "file_overwrite": True,
            "client_config": Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }
        return {**settings.STORAGES, "uploads": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}


@pytest.fixture(scope="session")
def object_store_server(tmp_path_factory):
    """One moto S3 server for the session, on a free port (started only by tests that need it)."""
    port = free_port()
    log_dir = tmp_path_factory.mktemp("moto")
    log = open(log_dir / "moto.log", "wb")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = ObjectStoreServer(f"http://127.0.0.1:{port}")

    def answers():
        if process.poll() is not None:
            raise AssertionError(f"moto exited with {process.returncode}; see {log_dir / 'moto.log'}")
        try:
            server.client().list_buckets()
        except Exception:
            return False
        return True

    wait_until(answers, timeout_s=30, message="the moto S3 server to answer")
    yield server
    stop_process(process)
    log.close()


@pytest.fixture
def object_store(object_store_server, settings):
    """Stored files go to a fresh bucket of the moto server for this test; yields (server, bucket)."""
    import uuid

    bucket = f"yunqiao-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    object_store_server.client().create_bucket(Bucket=bucket)
    settings.STORAGES = object_store_server.storages(bucket)
    yield object_store_server, bucket


class UnreadBroker:
    """A django-q2 broker that keeps nothing: what is enqueued is never run by any cluster."""

    list_key = "unread"

    def enqueue(self, task):
        return "unread"


@pytest.fixture
def unread_broker(monkeypatch):
    """Tasks enqueued during the test go nowhere, so the session's qcluster (started by an earlier
    test) cannot run them behind the test's back; the test runs what it needs itself."""
    import django_q.tasks

    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: UnreadBroker())


@pytest.fixture
def private_tempdir(tmp_path, monkeypatch):
    """The process's temporary directory, made private to the test: a check that nothing is left
    behind must not see files other programs create in /tmp meanwhile (pip, a browser, a build)."""
    import tempfile

    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture(autouse=True)
def default_language_after_each_test():
    """A request with another Accept-Language activates that language for the thread, and the
    test client runs in the test's thread: without this, one English request makes the next test's
    messages English."""
    yield
    from django.utils import translation

    translation.deactivate()
