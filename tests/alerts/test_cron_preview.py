"""The scheduler page's live cron preview: GET /api/v1/scheduler/cron-preview answers staff with
the words an expression means and its next fire times, refuses a bad one with a Chinese 400, and
is throttled per user."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from alerts import services
from config.throttling import CronPreviewThrottle, TokenUserThrottle

pytestmark = pytest.mark.django_db

URL = "/api/v1/scheduler/cron-preview"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def forget_counts(staff_user):
    """The counts live in the cache (Redis outlives the test database and reuses user ids)."""
    keys = [throttle().key(staff_user.pk) for throttle in (CronPreviewThrottle, TokenUserThrottle)]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def test_preview_says_what_the_expression_means_and_when_it_fires_next():
    now = datetime(2026, 3, 2, 8, 30, tzinfo=SHANGHAI)  # a Monday

    preview = services.preview_cron("  0   7 * * mon-fri ", now=now)

    assert preview.cron == "0 7 * * mon-fri"
    assert preview.words == "每周一至周五 07:00"
    assert preview.next_runs == [
        datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI),
        datetime(2026, 3, 4, 7, 0, tzinfo=SHANGHAI),
        datetime(2026, 3, 5, 7, 0, tzinfo=SHANGHAI),
    ]


def test_staff_get_the_words_of_what_they_type(staff_api):
    response = staff_api.get(URL, {"cron": "*/5 * * * *"})

    assert response.status_code == 200
    body = response.json()
    assert body["cron"] == "*/5 * * * *"
    assert body["words"] == "每 5 分钟"
    runs = [datetime.fromisoformat(moment) for moment in body["next_runs"]]
    assert len(runs) == 3
    assert runs[1] - runs[0] == runs[2] - runs[1]
    assert runs[0].utcoffset().total_seconds() == 8 * 3600, "shown in Asia/Shanghai"


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("*/5 * * *", "须为 5 个字段"),
        ("", "须为 5 个字段"),
        ("61 * * * *", "不是有效的 cron 表达式"),
        ("0 7 * * someday", "不是有效的 cron 表达式"),
    ],
)
def test_a_bad_expression_is_a_400_with_the_reason_in_chinese(staff_api, cron, reason):
    response = staff_api.get(URL, {"cron": cron})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert reason in body["message"]
    assert reason in body["errors"]["cron"][0]


def test_without_an_expression_it_is_a_400(staff_api):
    response = staff_api.get(URL)

    assert response.status_code == 400
    assert response.json()["message"].endswith("请提供 cron 表达式")


def test_only_staff_may_ask(client, field_user, anon_api):
    assert anon_api.get(URL, {"cron": "* * * * *"}).status_code in (401, 403)
    client.force_login(field_user)
    assert client.get(URL, {"cron": "* * * * *"}).status_code == 403


def test_preview_is_throttled_per_user(staff_api, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "cron_preview": "2/min"}

    answers = [staff_api.get(URL, {"cron": "0 7 * * *"}).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_the_page_offers_the_preview_beside_each_cron_field(client, staff_user, declare_job):
    declare_job(lambda: {}, id="probe_job", name="探针任务", cron="0 7 * * *")
    services.sync_schedules()
    client.force_login(staff_user)

    html = client.get("/scheduler/").content.decode()

    assert f'data-cron-preview="{URL}"' in html
    assert 'aria-describedby="cron-words-probe_job"' in html
    assert '<span id="cron-words-probe_job" class="cron-words muted" aria-live="polite"></span>' in html
