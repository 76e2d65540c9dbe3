import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from config.settings import envbool, envint
from tests.conftest import REPO_ROOT

sqlite_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3", reason="SQLite default only"
)


@sqlite_only
@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_normal_sync_and_a_busy_timeout():
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] == settings.SQLITE_BUSY_TIMEOUT_S * 1000


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_sqlite_transactions_take_the_write_lock_immediately():
    """With IMMEDIATE, even a transaction that has only read holds the write lock, so another
    process can never deadlock against it while upgrading a read lock."""
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    try:
        with transaction.atomic():
            connection.cursor().execute("SELECT 1")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_task_timeout_is_shorter_than_redelivery_and_attempts_are_bounded():
    q = settings.Q_CLUSTER
    assert q["timeout"] < q["retry"]
    assert q["max_attempts"] > 0
    assert q["catch_up"] is False
    assert ("redis" in q) == bool(settings.REDIS_URL)
    assert ("orm" in q) != bool(settings.REDIS_URL)


def test_time_and_language_defaults_are_chinese():
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert "en" in dict(settings.LANGUAGES)


def test_bad_environment_values_fail_loudly(monkeypatch):
    monkeypatch.setenv("YQ_FLAG", "maybe")
    monkeypatch.setenv("YQ_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="YQ_FLAG"):
        envbool("YQ_FLAG", False)
    with pytest.raises(ImproperlyConfigured, match="YQ_NUMBER"):
        envint("YQ_NUMBER", 1)


def test_deploy_checks_pass_with_debug_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "yunqiao.example.com"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generated secret key persists in DATA_DIR, readable only by its owner.
    assert (tmp_path / ".secret_key").stat().st_mode & 0o077 == 0


def test_an_existing_data_dir_is_made_private_at_start_up(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    database = data_dir / "yunqiao.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env={**env, "DATA_DIR": str(data_dir)}, check=True
    )
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / ".secret_key").stat().st_mode) == 0o600
