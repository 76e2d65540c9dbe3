"""Yunqiao settings: every value comes from the environment, with safe defaults.

Nothing here but turning environment variables into settings. The helpers fail loudly on a
value they cannot parse, so a typo in a deployment stops the process instead of silently
running with a default.
"""

import os
import re
import secrets
import socket
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def envrate(name: str, default: str) -> str | None:
    """A request rate as DRF reads it ("30/min": N per s, min, hour or day); empty means no limit."""
    raw = env(name, default).strip()
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]+/(s|sec|m|min|h|hour|d|day)", raw):
        raise ImproperlyConfigured(f"{name} must be a rate like 30/min (per s, min, hour or day), got {raw!r}")
    return raw


def _persistent_secret_key(data_dir: Path) -> str:
    """A key generated once per DATA_DIR, so a fresh install is secure without any setup."""
    path = data_dir / ".secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


def _private_data_dir(path: Path) -> Path:
    """DATA_DIR holds API tokens (in the database), the secret key and people's photos: readable
    by this account only. The umask covers every file any process creates after start-up (the
    SQLite -wal/-shm, stored photos, sandbox state); the chmods fix an existing install."""
    os.umask(0o077)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    for name in (".secret_key", "yunqiao.sqlite3", "yunqiao.sqlite3-wal", "yunqiao.sqlite3-shm"):
        if (path / name).exists():
            (path / name).chmod(0o600)
    return path


# --- Paths -------------------------------------------------------------------------------------
DATA_DIR = _private_data_dir(Path(env("DATA_DIR", str(BASE_DIR / "data"))).resolve())
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"  # never served publicly: uploads are only reachable through views that check access

# --- Core --------------------------------------------------------------------------------------
DEBUG = envbool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY") or _persistent_secret_key(DATA_DIR)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

# HTTPS hardening is on whenever debug is off. A plain-HTTP intranet turns it off explicitly with
# DJANGO_HTTPS=0 (and then `check --deploy` rightly warns about it).
HTTPS = envbool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", True)
# Probes and scrapers speak plain HTTP inside the cluster; they must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^metrics$"]
BEHIND_PROXY = envbool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "config.apps.YunqiaoConfig",
    "sandbox",
    "uploads",
    "sync",
    "projects",
    "alerts",
    "erpjobs",
]

MIDDLEWARE = [
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
SQLITE_BUSY_TIMEOUT_S = envint("SQLITE_BUSY_TIMEOUT_S", 20)


def _sqlite_options() -> dict:
    # WAL lets readers run beside the one writer; NORMAL is durable across application crashes
    # (only an OS crash can lose the last commits). IMMEDIATE takes the write lock when a
    # transaction starts, so two processes never deadlock upgrading read locks to write locks —
    # the cause of "database is locked" that the busy timeout cannot cure.
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT_S,
        "init_command": (
            f"PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000};"
        ),
    }


if env("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "yunqiao.sqlite3"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(_sqlite_options())
    # A file (not :memory:) so that a qcluster process started by a test shares the test
    # database; one per test process so parallel runs do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # Only the test runner reads this: one test database per test process, as above.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -------------------------------------------------------------------------------------
# Shared by every process (token cache, django-q2 cluster stats): Redis when scaled out, else a
# table in the database so that web and worker processes on one host see the same values.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "yunqiao_cache",
        }
    }

# --- Background work (django-q2) ---------------------------------------------------------------
Q_TASK_TIMEOUT_S = envint("Q_TASK_TIMEOUT_S", 600)
Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", "yunqiao"),
    "workers": envint("Q_WORKERS", 2),
    # A task longer than this is killed. Long work (a sync batch) is split into short tasks.
    "timeout": Q_TASK_TIMEOUT_S,
    # The ORM broker redelivers a task not acknowledged after `retry` seconds. It must exceed the
    # timeout, or a slow but healthy task is handed to a second worker while still running.
    "retry": Q_TASK_TIMEOUT_S + 60,
    # 0 would mean "redeliver forever". Redelivery has no backoff, so it is only a safety net
    # for a worker killed mid-task; our tasks schedule their own retries with backoff and are
    # idempotent, and a periodic recovery sweep picks up whatever is still unfinished.
    "max_attempts": 2,
    # A task that raised has already recorded its failure on its own row; do not replay it.
    "ack_failures": True,
    # Schedules missed while the cluster was down are not replayed in a burst.
    "catch_up": False,
    # Keep a bounded history of successful tasks; failures are always kept.
    "save_limit": envint("Q_SAVE_LIMIT", 1000),
    "queue_limit": envint("Q_QUEUE_LIMIT", 50),
    "label": "后台任务",
    "cpu_affinity": 0,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    # The ORM broker polls the queue table while it is empty. A poll is one indexed SELECT (well
    # under a millisecond, and readers never block writers in WAL mode), while the wait is paid by
    # every task: at 0.5 s a backlog's first upload started 0.25 s late on average, a twentieth of
    # a 200-file drain at cap 10 (docs/benchmarks.md).
    Q_CLUSTER["poll"] = envfloat("Q_POLL_S", 0.1)

# --- Auth --------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "config.auth.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute-force protection of /accounts/login/ and the admin (django-axes, attempts in the database
# so every host counts them). A user name is locked out from one client address only: locking the
# name everywhere would let anyone lock staff out, and locking an address would lock out a whole
# office or mobile carrier behind one NAT address.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.auth.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are not kept in a table forever
AXES_CLIENT_IP_CALLABLE = "config.auth.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API caller gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.StandardAutoSchema",
    "EXCEPTION_HANDLER": "config.api.standard_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.TokenUserThrottle"],
    # The client address of a throttle is REMOTE_ADDR, or the address our one proxy saw: never a
    # client's own X-Forwarded-For.
    "NUM_PROXIES": 1 if BEHIND_PROXY else 0,
}
# Requests allowed per period (config/throttling.py); over it: 429, a Chinese message and
# Retry-After. Empty: no limit.
API_THROTTLE_RATES = {
    "api_token": envrate("API_THROTTLE_TOKEN_USER", "600/min"),
    "upload_link": envrate("UPLOAD_THROTTLE_PER_LINK", "30/min"),
    "upload_user": envrate("UPLOAD_THROTTLE_PER_USER", "60/min"),
    "upload_ip": envrate("UPLOAD_THROTTLE_PER_IP", "120/min"),
    # The scheduler page's live cron preview: one request per pause in typing, per staff member.
    "cron_preview": envrate("CRON_PREVIEW_THROTTLE_PER_USER", "120/min"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yunqiao API",
    "DESCRIPTION": "云桥：现场人员与用友云 ERP 之间的桥梁",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies get their own components, so a required text field says `minLength: 1` and
    # read-only fields are not offered as input.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The areas every operation is tagged with (config.schema.AREAS), in the order Swagger shows.
    "TAGS": [
        {"name": "uploads", "description": "照片上传：签名链接、上传、上传记录与导出"},
        {"name": "sync", "description": "用友单据同步：每日状态与同步批次"},
        {"name": "erp", "description": "已同步的用友单据"},
        {"name": "scheduler", "description": "定时任务：计划、运行与指标"},
        {"name": "alerts", "description": "告警、静默与通知"},
        {"name": "projects", "description": "项目缓存、客户链接与项目同步"},
        {"name": "system", "description": "健康检查"},
    ],
}

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Stored photos: the local disk under DATA_DIR unless an S3-compatible bucket is named (S3, Aliyun
# OSS, MinIO), which every web and worker host then shares. Keys are uploads/YYYY/MM/<name>.
STORAGE_S3_BUCKET = env("STORAGE_S3_BUCKET")
# A photo read back from the store (to the ERP, into an export) spills to a temporary file past this.
STORAGE_S3_MAX_MEMORY_SIZE = envint("STORAGE_S3_MAX_MEMORY_SIZE", 1024 * 1024)
if STORAGE_S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    STORAGES["uploads"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            "endpoint_url": env("STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": env("STORAGE_S3_REGION") or None,
            # Empty: boto3's own chain (environment, instance role, ~/.aws).
            "access_key": env("STORAGE_S3_ACCESS_KEY_ID") or None,
            "secret_key": env("STORAGE_S3_SECRET_ACCESS_KEY") or None,
            "location": env("STORAGE_S3_PREFIX").strip("/"),
            "default_acl": None,  # private: the bucket's policy, never a public-read object
            "querystring_auth": True,
            "file_overwrite": True,  # names are unique: no HEAD request before each PUT
            "client_config": _BotoConfig(
                s3={"addressing_style": env("STORAGE_S3_ADDRESSING_STYLE", "auto")},
                signature_version="s3v4",
                # boto3's default checksum headers are refused by some S3-compatible stores
                # (Aliyun OSS, older MinIO): only where the API requires them.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=envfloat("STORAGE_S3_TIMEOUT_S", 10.0),
                read_timeout=envfloat("STORAGE_S3_TIMEOUT_S", 10.0),
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        },
    }

# --- The `runstack` supervisor (make run) --------------------------------------------------------
# A child that exits is restarted after BACKOFF_S, doubled for each exit within the window, up to
# BACKOFF_MAX_S. CRASH_LOOP_EXITS exits within the window mark it "failing" (logged as an error,
# named by /api/health); it is still restarted, and is "running" again once it stays up that long.
RUNSTACK_RESTART_BACKOFF_S = envfloat("RUNSTACK_RESTART_BACKOFF_S", 1.0)
RUNSTACK_RESTART_BACKOFF_MAX_S = envfloat("RUNSTACK_RESTART_BACKOFF_MAX_S", 30.0)
RUNSTACK_CRASH_LOOP_EXITS = envint("RUNSTACK_CRASH_LOOP_EXITS", 5)
RUNSTACK_CRASH_LOOP_WINDOW_S = envfloat("RUNSTACK_CRASH_LOOP_WINDOW_S", 120.0)

# --- Logging: one JSON object per line on stdout -----------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logging.ContextFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        "django-q": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # httpx logs full URLs, and Yonyou puts the access token in the query string; our
        # client logs each call itself, without the query.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # django-axes announces itself at INFO in every process, on the stdout of every command
        # (`drf_create_token admin | awk …`); its lockouts are warnings.
        "axes.apps": {"level": "WARNING"},
    },
}

# --- Yunqiao: the Yonyou open API (see yonyou/ and ../shared/yonyou-api.md) --------------------
SANDBOX_PORT = envint("SANDBOX_PORT", 8765)
_SANDBOX_ORIGIN = f"http://127.0.0.1:{SANDBOX_PORT}"
YONYOU_TOKEN_URL = env("YONYOU_TOKEN_URL", f"{_SANDBOX_ORIGIN}/iuap-api-auth")
YONYOU_GATEWAY_URL = env("YONYOU_GATEWAY_URL", f"{_SANDBOX_ORIGIN}/iuap-api-gateway")
YONYOU_APP_KEY = env("YONYOU_APP_KEY", "yunqiao-sandbox-app")
YONYOU_APP_SECRET = env("YONYOU_APP_SECRET", "yunqiao-sandbox-secret")
YONYOU_TIMEOUT_S = envfloat("YONYOU_TIMEOUT_S", 30.0)
YONYOU_CONNECT_TIMEOUT_S = envfloat("YONYOU_CONNECT_TIMEOUT_S", 5.0)
# Refresh the shared token this long before Yonyou says it expires.
YONYOU_TOKEN_REFRESH_MARGIN_S = envint("YONYOU_TOKEN_REFRESH_MARGIN_S", 60)
YONYOU_MAX_CONCURRENCY = envint("YONYOU_MAX_CONCURRENCY", 3)
# Document type (as field staff name it) → Yonyou businessType.
YONYOU_BUSINESS_TYPES = {
    "销售": env("YONYOU_BUSINESS_TYPE_SALES", "yonbip-scm-scmsa"),
    "转库": env("YONYOU_BUSINESS_TYPE_TRANSFER", "yonbip-scm-stock"),
    "其他": env("YONYOU_BUSINESS_TYPE_OTHER", "yonbip-scm-stock"),
}

# --- Notifications (alerts.outbox, alerts.delivery, alerts/channels/) -------------------------
# Every channel defaults to the sandbox, like YONYOU_*; `make run` starts its HTTP and SMTP sides.
SANDBOX_SMTP_PORT = envint("SANDBOX_SMTP_PORT", 8766)
WECOM_ROBOT_URL = env("WECOM_ROBOT_URL", f"{_SANDBOX_ORIGIN}/cgi-bin/webhook/send")
WECOM_API_URL = env("WECOM_API_URL", f"{_SANDBOX_ORIGIN}/cgi-bin")
WECOM_CORP_ID = env("WECOM_CORP_ID", "yunqiao-sandbox-corp")
WECOM_CORP_SECRET = env("WECOM_CORP_SECRET", "yunqiao-sandbox-corp-secret")
WECOM_AGENT_ID = envint("WECOM_AGENT_ID", 1000002)
ALIYUN_SMS_URL = env("ALIYUN_SMS_URL", f"{_SANDBOX_ORIGIN}/aliyun-sms/")
ALIYUN_ACCESS_KEY_ID = env("ALIYUN_ACCESS_KEY_ID", "yunqiao-sandbox-key")
ALIYUN_ACCESS_KEY_SECRET = env("ALIYUN_ACCESS_KEY_SECRET", "yunqiao-sandbox-key-secret")
ALIYUN_SMS_SIGN_NAME = env("ALIYUN_SMS_SIGN_NAME", "云桥")
# An approved template with the variables ${title} and ${link}.
ALIYUN_SMS_TEMPLATE_CODE = env("ALIYUN_SMS_TEMPLATE_CODE", "SMS_000000001")
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", SANDBOX_SMTP_PORT)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
# The email channel always speaks SMTP (Django's EMAIL_BACKEND may be swapped, e.g. by tests).
NOTIFY_EMAIL_BACKEND = env("NOTIFY_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "云桥预警 <alerts@yunqiao.local>")
NOTIFY_TIMEOUT_S = envfloat("NOTIFY_TIMEOUT_S", 10.0)
# Sends per minute: per robot (WeCom's own limit, errcode 45009 past it), per channel otherwise.
WECOM_ROBOT_PER_MIN = envint("WECOM_ROBOT_PER_MIN", 20)
WECOM_APP_PER_MIN = envint("WECOM_APP_PER_MIN", 600)
SMS_PER_MIN = envint("SMS_PER_MIN", 100)
EMAIL_PER_MIN = envint("EMAIL_PER_MIN", 300)
# Retries: exponential backoff with jitter, never sooner than the provider asks.
NOTIFY_MAX_ATTEMPTS = envint("NOTIFY_MAX_ATTEMPTS", 8)
NOTIFY_RETRY_BASE_S = envfloat("NOTIFY_RETRY_BASE_S", 30.0)
NOTIFY_RETRY_MAX_S = envfloat("NOTIFY_RETRY_MAX_S", 1800.0)
# A `sending` row silent this long (its worker died) is sent again by the sweep; it must exceed
# NOTIFY_TIMEOUT_S and EMAIL_TIMEOUT by a wide margin, or a slow send would be repeated.
NOTIFY_LEASE_S = envint("NOTIFY_LEASE_S", 180)
# A pending row enqueued this long ago whose task never ran is enqueued again by the sweep.
NOTIFY_PENDING_STALE_S = envint("NOTIFY_PENDING_STALE_S", 120)
# The rows one transaction writes are handed to the workers this many per task (one broker call
# each, 20–35 ms): few calls at commit, and a large batch still spread over the workers.
NOTIFY_DELIVERY_BATCH = envint("NOTIFY_DELIVERY_BATCH", 20)

# --- Alerting (alerts.alerting, alerts.routing) ------------------------------------------------
# Links in messages point here (the /alerts/ page).
ALERT_LINK_BASE_URL = env("ALERT_LINK_BASE_URL", f"http://127.0.0.1:{envint('PORT', 8000)}")
# Receivers of alerts no route matches. With the channels on the sandbox (the `make run` default)
# every alert goes to one sandbox robot and the admin's email, so messages arrive unconfigured;
# elsewhere nobody is told until routes (or these settings) say who. "admin" = the first
# superuser's email (ALERT_ADMIN_FALLBACK_EMAIL when it has none).
_CHANNELS_ON_SANDBOX = WECOM_ROBOT_URL.startswith(_SANDBOX_ORIGIN)
ALERT_DEFAULT_ROBOT_KEY = env("ALERT_DEFAULT_ROBOT_KEY", "yunqiao-sandbox-robot" if _CHANNELS_ON_SANDBOX else "")
ALERT_DEFAULT_EMAIL = env("ALERT_DEFAULT_EMAIL", "admin" if _CHANNELS_ON_SANDBOX else "")
ALERT_ADMIN_FALLBACK_EMAIL = env("ALERT_ADMIN_FALLBACK_EMAIL", "admin@yunqiao.local")
# Every qcluster worker runs the alerting ticker (alerts.alerting.ticker) this often: it sends a
# message group when its group_wait / group_interval ends and hands due outbox rows to workers.
# 0 switches the ticker off (the minute jobs then do everything, a minute late).
ALERT_TICK_S = envfloat("ALERT_TICK_S", 2.0)
# The ticker evaluates the rules of check_system_alerts this often, so a failed sync day or job
# is an alert within seconds; the minute job remains (with its run record).
ALERT_EVALUATE_EVERY_S = envfloat("ALERT_EVALUATE_EVERY_S", 10.0)

# --- Uploads -----------------------------------------------------------------------------------
MAX_FILE_SIZE = envint("MAX_FILE_SIZE", 10 * 1024 * 1024)
MAX_FILES_PER_UPLOAD = envint("MAX_FILES_PER_UPLOAD", 10)
UPLOAD_LINK_MAX_AGE_S = envint("UPLOAD_LINK_MAX_AGE_S", 7 * 24 * 3600)
# Files are streamed to temporary files above this size, so memory does not grow with uploads.
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
# The whole request may carry MAX_FILES_PER_UPLOAD files plus form fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Extensions accepted by POST /api/upload; the content must also match (magic bytes).
UPLOAD_ALLOWED_EXTENSIONS = envlist("UPLOAD_ALLOWED_EXTENSIONS", ".jpg,.jpeg,.png,.gif,.webp,.heic,.heif,.pdf")
# The upload page shrinks photos in the browser before sending (a 4 MB phone photo would take
# minutes on a weak signal): longest side in pixels and JPEG quality in percent; 0 sends as chosen.
UPLOAD_PHOTO_MAX_SIDE = envint("UPLOAD_PHOTO_MAX_SIDE", 1600)
UPLOAD_PHOTO_QUALITY = envint("UPLOAD_PHOTO_QUALITY", 80)
if not 1 <= UPLOAD_PHOTO_QUALITY <= 100:
    raise ImproperlyConfigured("UPLOAD_PHOTO_QUALITY must be between 1 and 100")
# Backoff between attempts: base * 2^(retry-1), with jitter, capped; Retry-After wins when longer.
UPLOAD_RETRY_BASE_S = envfloat("UPLOAD_RETRY_BASE_S", 30.0)
UPLOAD_RETRY_MAX_S = envfloat("UPLOAD_RETRY_MAX_S", 900.0)
# Transient failures (5xx, timeouts, resets, rate limits) are retried for this long after the
# first one; only then, or on a permanent error, does an upload end `failed`.
UPLOAD_RETRY_HORIZON_S = envint("UPLOAD_RETRY_HORIZON_S", 24 * 3600)
# An `uploading` row and its concurrency slot are leased for this long, and the lease is renewed
# every third of it while the upload is sent; a worker that stops renewing is presumed dead.
UPLOAD_LEASE_S = envint("UPLOAD_LEASE_S", 300)
# One upload request is over after this long whatever the remote does (httpx timeouts only bound
# inactivity): a retryable timeout, ended before the lease could lapse.
UPLOAD_ATTEMPT_DEADLINE_S = envfloat("UPLOAD_ATTEMPT_DEADLINE_S", 240.0)
# The deadline is checked between network operations, each bounded by YONYOU_TIMEOUT_S.
if not 0 < UPLOAD_ATTEMPT_DEADLINE_S < UPLOAD_LEASE_S - YONYOU_TIMEOUT_S:
    raise ImproperlyConfigured(
        f"UPLOAD_ATTEMPT_DEADLINE_S ({UPLOAD_ATTEMPT_DEADLINE_S}) must be above 0 and below UPLOAD_LEASE_S "
        f"({UPLOAD_LEASE_S}) minus YONYOU_TIMEOUT_S ({YONYOU_TIMEOUT_S})"
    )
# After an upload call timed out, its concurrency slot stays taken this long: Yonyou may still be
# working on the abandoned call, and the cap must hold as Yonyou sees it.
UPLOAD_ABANDONED_CALL_S = envfloat("UPLOAD_ABANDONED_CALL_S", 60.0)
# Every worker process writes a heartbeat row this often; one silent for UPLOAD_HEARTBEAT_DEAD_S is
# presumed gone (killed, or cut off from the database that long), on any host, and the workers of
# every host take back its uploads and slots at once instead of waiting for UPLOAD_LEASE_S.
UPLOAD_HEARTBEAT_S = envfloat("UPLOAD_HEARTBEAT_S", 2.0)
UPLOAD_HEARTBEAT_DEAD_S = envfloat("UPLOAD_HEARTBEAT_DEAD_S", 15.0)
if not 0 < 3 * UPLOAD_HEARTBEAT_S <= UPLOAD_HEARTBEAT_DEAD_S < UPLOAD_LEASE_S:
    raise ImproperlyConfigured(
        f"UPLOAD_HEARTBEAT_DEAD_S ({UPLOAD_HEARTBEAT_DEAD_S}) must be at least three UPLOAD_HEARTBEAT_S "
        f"({UPLOAD_HEARTBEAT_S}) and below UPLOAD_LEASE_S ({UPLOAD_LEASE_S})"
    )
# The host part of "host:pid" on leases, slots and heartbeats: must differ between hosts.
UPLOAD_WORKER_HOST = env("UPLOAD_WORKER_HOST") or socket.gethostname()
# A worker holding a slot takes the next due row at once for this long, then hands the slot on
# through the broker; one task then lasts at most this plus one attempt, well inside Q_TASK_TIMEOUT_S.
UPLOAD_DRAIN_BUDGET_S = envfloat("UPLOAD_DRAIN_BUDGET_S", 30.0)
if not 0 <= UPLOAD_DRAIN_BUDGET_S < Q_TASK_TIMEOUT_S - UPLOAD_ATTEMPT_DEADLINE_S - YONYOU_TIMEOUT_S:
    raise ImproperlyConfigured(
        f"UPLOAD_DRAIN_BUDGET_S ({UPLOAD_DRAIN_BUDGET_S}) must be at least 0 and below Q_TASK_TIMEOUT_S "
        f"({Q_TASK_TIMEOUT_S}) minus UPLOAD_ATTEMPT_DEADLINE_S and YONYOU_TIMEOUT_S"
    )
# A `pending` row whose task was enqueued this long ago without running is enqueued again.
UPLOAD_PENDING_STALE_S = envint("UPLOAD_PENDING_STALE_S", 300)
# A staging file of a request body nobody has written to for this long is swept (every minute):
# its request died with its process. Live requests remove their own when they end.
UPLOAD_STAGING_MAX_AGE_S = envint("UPLOAD_STAGING_MAX_AGE_S", 600)
# Local copies of successful uploads older than this are deleted; 0 keeps them forever.
UPLOAD_LOCAL_RETENTION_DAYS = envint("UPLOAD_LOCAL_RETENTION_DAYS", 0)
# An Idempotency-Key is answered with its first request's records for at least this long, then
# removed by the daily retention job (Stripe keeps keys 24 h): a client retries within minutes,
# and without an end the table grows with every upload. 0 keeps keys forever.
UPLOAD_IDEMPOTENCY_KEY_TTL_H = envint("UPLOAD_IDEMPOTENCY_KEY_TTL_H", 24)
if UPLOAD_IDEMPOTENCY_KEY_TTL_H < 0:
    raise ImproperlyConfigured(
        f"UPLOAD_IDEMPOTENCY_KEY_TTL_H must be 0 (keep forever) or more hours, got {UPLOAD_IDEMPOTENCY_KEY_TTL_H}"
    )

# --- Metrics -----------------------------------------------------------------------------------
# Bearer token that scrapers present on /metrics; empty disables the endpoint.
METRICS_BEARER_TOKEN = env("METRICS_BEARER_TOKEN")

# --- Sync (sync/) -----------------------------------------------------------------------------
SYNC_MAX_BATCH_DAYS = envint("SYNC_MAX_BATCH_DAYS", 90)
SYNC_PAGE_SIZE = envint("SYNC_PAGE_SIZE", 500)
SYNC_PAGE_CONCURRENCY = envint("SYNC_PAGE_CONCURRENCY", 4)
SYNC_NIGHTLY_CRON = env("SYNC_NIGHTLY_CRON", "0 1 * * *")
# Rows per INSERT … ON CONFLICT statement when upserting synced documents.
SYNC_WRITE_BATCH_SIZE = envint("SYNC_WRITE_BATCH_SIZE", 500)
# A page that fails with a retryable error is fetched again, this many times in all, after
# base * 2^(attempt-1) seconds (or the ERP's Retry-After when longer).
SYNC_PAGE_ATTEMPTS = envint("SYNC_PAGE_ATTEMPTS", 3)
SYNC_PAGE_RETRY_BASE_S = envfloat("SYNC_PAGE_RETRY_BASE_S", 1.0)
# A batch day task extends its lease while it works; a batch whose lease expired (its worker
# died) is resumed by the recovery job, and a day left `syncing` that long may be taken over.
SYNC_LEASE_S = envint("SYNC_LEASE_S", 300)
# A batch day that fails with a transient error (5xx, timeout, connection, rate limit) is tried
# again with exponential backoff (base * 2^(n-1), at most max, half of it random jitter, never
# shorter than Retry-After) until this long after its first transient failure; then it fails.
SYNC_DAY_RETRY_HORIZON_S = envint("SYNC_DAY_RETRY_HORIZON_S", 1800)
SYNC_DAY_RETRY_BASE_S = envfloat("SYNC_DAY_RETRY_BASE_S", 5.0)
SYNC_DAY_RETRY_MAX_S = envfloat("SYNC_DAY_RETRY_MAX_S", 300.0)
# Many choices share a field name in the API schema ("status", "mode", "state", "kind"): name them.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "SyncBatchStatusEnum": "sync.models.BatchStatus",
        "SyncBatchDayStatusEnum": "sync.models.BatchDayStatus",
        "SyncDayStatusEnum": "sync.models.DayStatus",
        "AlertStatusEnum": "alerts.alerting.models.AlertStatus",
        "UploadStatusEnum": "uploads.models.UploadStatus",
        "ProjectTypeEnum": "projects.models.ProjectType",
        "ProjectStatusEnum": "projects.models.ProjectStatus",
        "ProjectSyncRunStatusEnum": "projects.models.SyncRunStatus",
        "ProjectSyncRunModeEnum": "projects.models.ProjectSyncRun.Mode",
        "ProjectChangeKindEnum": "projects.models.ProjectChange.Kind",
        # The alert events' kinds keep the name they had before projects' kinds came to the schema.
        "KindEnum": "alerts.alerting.models.AlertEvent.Kind",
        "TimeDisplayModeEnum": "projects.models.ProjectSyncConfig.TimeDisplay",
        "CustomerLinkStateEnum": "projects.api_schema.LINK_STATES",
        "LinkCheckStateEnum": "projects.api_schema.LINK_CHECK_STATES",
    }
)

# --- Scheduler (alerts/) ----------------------------------------------------------------------
JOB_RUN_RETENTION_DAYS = envint("JOB_RUN_RETENTION_DAYS", 90)

# --- Projects (projects/): the remote project system and its cache ------------------------------
# One source by default (the sandbox under `make run`); more as JSON {"name": {"url", "api_key"}}.
PROJECTS_REMOTE_URL = env("PROJECTS_REMOTE_URL", f"{_SANDBOX_ORIGIN}/pm-api/v1")
PROJECTS_REMOTE_API_KEY = env("PROJECTS_REMOTE_API_KEY", "yunqiao-sandbox-pm-key")


def _project_sources() -> dict[str, dict[str, str]]:
    import json

    sources = {"main": {"url": PROJECTS_REMOTE_URL, "api_key": PROJECTS_REMOTE_API_KEY}}
    raw = env("PROJECTS_EXTRA_SOURCES")
    if raw:
        try:
            extra = json.loads(raw)
            if not isinstance(extra, dict) or not all(
                isinstance(value, dict) and value.get("url") for value in extra.values()
            ):
                raise ValueError
        except ValueError:
            raise ImproperlyConfigured(
                'PROJECTS_EXTRA_SOURCES must be JSON like {"name": {"url": "...", "api_key": "..."}}'
            ) from None
        sources.update(
            {name: {"url": value["url"], "api_key": value.get("api_key", "")} for name, value in extra.items()}
        )
    return sources


PROJECTS_SOURCES = _project_sources()
# The sync job reads the remote with these timeouts; a customer's or staff read waits less, then
# answers from the cache (stale) instead.
PROJECTS_REMOTE_TIMEOUT_S = envfloat("PROJECTS_REMOTE_TIMEOUT_S", 10.0)
PROJECTS_READ_TIMEOUT_S = envfloat("PROJECTS_READ_TIMEOUT_S", 3.0)
PROJECTS_LIST_PAGE_SIZE = envint("PROJECTS_LIST_PAGE_SIZE", 500)
PROJECTS_FETCH_CONCURRENCY = envint("PROJECTS_FETCH_CONCURRENCY", 4)
PROJECTS_SYNC_CRON = env("PROJECTS_SYNC_CRON", "*/15 * * * *")
# The first run after this daily time (local) is a full pass that also finds deleted projects.
PROJECTS_FULL_SYNC_HOUR = envint("PROJECTS_FULL_SYNC_HOUR", 1)
# Incremental runs ask for changes since the last cursor minus this overlap (clock skew).
PROJECTS_SYNC_OVERLAP_S = envint("PROJECTS_SYNC_OVERLAP_S", 120)
# Cached projects deleted remotely, or not fetched for this long, are removed by the 02:00 job.
PROJECTS_CACHE_RETENTION_DAYS = envint("PROJECTS_CACHE_RETENTION_DAYS", 30)
PROJECTS_LINK_MAX_AGE_DAYS = envint("PROJECTS_LINK_MAX_AGE_DAYS", 90)
PROJECTS_LINK_DEFAULT_AGE_DAYS = envint("PROJECTS_LINK_DEFAULT_AGE_DAYS", 30)
