"""岗位职责任务自动生成: the remote's roles, people and duty templates (served by the sandbox over
HTTP) make each day's tasks once per template and person, on the days each frequency names."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from projects import duty
from projects.models import DutyRoleMember, DutyTask, DutyTemplate
from tests.conftest import make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at_four(day: str) -> datetime:
    """The job's time on that local day (04:00 in Shanghai)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=4)


def tasks_of(person: str, day: str) -> set[str]:
    return set(DutyTask.objects.filter(person_name=person, day=day).values_list("template__remote_id", flat=True))


@pytest.mark.parametrize(
    ("day", "person", "expected"),
    [
        # 张伟 is a 项目经理: daily DT01, Fridays DT02, the 1st DT03.
        ("2026-04-30", "张伟", {"DT01"}),
        ("2026-05-01", "张伟", {"DT01", "DT02", "DT03"}),
        # 刘洋 is an 实施工程师: daily DT04, Mondays DT05, the 31st (a shorter month's last day) DT06.
        ("2026-04-27", "刘洋", {"DT04", "DT05"}),
        ("2026-04-28", "刘洋", {"DT04"}),
        ("2026-04-30", "刘洋", {"DT04", "DT06"}),
        ("2026-05-30", "刘洋", {"DT04"}),
        ("2026-02-28", "刘洋", {"DT04", "DT06"}),
        # 黄敏 is a 客服专员: daily DT07, the 28th DT08.
        ("2026-04-28", "黄敏", {"DT07", "DT08"}),
        ("2026-04-27", "黄敏", {"DT07"}),
    ],
)
def test_each_frequency_makes_its_tasks_on_its_days_only(remote, day, person, expected):
    outcome = duty.generate_job_duty_tasks(now=at_four(day))

    assert outcome["roles"] == {"main": "ok"}
    assert outcome["day"] == day
    assert tasks_of(person, day) == expected
    assert DutyTask.objects.exclude(day=day).count() == 0


def test_a_rerun_or_a_second_worker_makes_nothing_twice(remote):
    first = duty.generate_job_duty_tasks(now=at_four("2026-05-01"))
    again = duty.generate_job_duty_tasks(now=at_four("2026-05-01") + timedelta(hours=3))
    # A second worker that missed the first's insert still meets the constraint.
    raced = duty.generate_duty_tasks(day=date(2026, 5, 1), now=at_four("2026-05-01"))

    # 3 managers × 3 + 4 engineers × 1 + 3 service staff × 1.
    assert first["created"] == DutyTask.objects.count() == 16
    assert again["created"] == 0 and raced == 0
    assert DutyTask.objects.count() == 16


def test_a_person_added_to_a_role_gets_its_tasks_from_the_next_run(remote):
    duty.generate_job_duty_tasks(now=at_four("2026-05-04"))
    assert tasks_of("刘洋", "2026-05-04") == {"DT04", "DT05"}

    remote.control(join_role={"R01": ["U004"]}, leave_role={"R02": ["U005"]})
    duty.generate_job_duty_tasks(now=at_four("2026-05-05"))

    assert tasks_of("刘洋", "2026-05-05") == {"DT01", "DT04"}
    assert tasks_of("陈杰", "2026-05-05") == set(), "left the role: no new tasks"
    assert tasks_of("陈杰", "2026-05-04") == {"DT04", "DT05"}, "yesterday's stay"
    assert tasks_of("刘洋", "2026-05-04") == {"DT04", "DT05"}, "no task made for the past"


def test_a_remote_outage_keeps_the_cached_roles_and_still_makes_the_days_tasks(remote):
    duty.generate_job_duty_tasks(now=at_four("2026-05-04"))
    remote.sandbox.faults(fail_next=1, fail_status=503)

    outcome = duty.generate_job_duty_tasks(now=at_four("2026-05-05"))

    assert outcome["roles"] == {"main": "http_503"}
    assert outcome["created"] == 10
    assert tasks_of("张伟", "2026-05-05") == {"DT01"}


def test_a_template_the_remote_drops_makes_no_more_tasks_but_keeps_its_old_ones(db):
    role = {
        "id": "R9",
        "name": "值班",
        "members": [{"id": "U001", "name": "张伟", "username": "user1"}],
        "templates": [
            {"id": "A", "title": "巡检", "frequency": "daily"},
            {"id": "B", "title": "交班", "frequency": "daily"},
        ],
    }
    now = at_four("2026-05-04")
    duty.store_duty_roles(source="main", roles=[role], now=now)
    duty.generate_duty_tasks(day=date(2026, 5, 4), now=now)
    role["templates"] = role["templates"][:1]
    duty.store_duty_roles(source="main", roles=[role], now=now)
    duty.generate_duty_tasks(day=date(2026, 5, 5), now=now)

    assert tasks_of("张伟", "2026-05-04") == {"A", "B"}
    assert tasks_of("张伟", "2026-05-05") == {"A"}
    assert not DutyTemplate.objects.get(remote_id="B").active


def test_a_bad_schedule_from_the_remote_changes_nothing(db):
    bad = {"id": "R9", "name": "值班", "members": [], "templates": [{"id": "A", "title": "x", "frequency": "weekly"}]}
    with pytest.raises(duty.BadDutyRoles):
        duty.store_duty_roles(source="main", roles=[bad], now=at_four("2026-05-04"))
    assert not DutyTemplate.objects.exists()


def _roles(people: int) -> list[dict]:
    return [
        {
            "id": f"R{role}",
            "name": f"岗位 {role}",
            "members": [
                {"id": f"U{role}-{n}", "name": f"人员 {role}-{n}", "username": f"u{role}-{n}"} for n in range(people)
            ],
            "templates": [
                {"id": f"R{role}-D", "title": "日报", "frequency": "daily"},
                {"id": f"R{role}-W", "title": "周报", "frequency": "weekly", "weekday": 1},
                {"id": f"R{role}-M", "title": "月报", "frequency": "monthly", "day_of_month": 4},
            ],
        }
        for role in range(4)
    ]


def _queries(people: int, day: date) -> tuple[int, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = at_four(day.isoformat())
    with CaptureQueriesContext(connection) as stored:
        duty.store_duty_roles(source="main", roles=_roles(people), now=now)
    with CaptureQueriesContext(connection) as generated:
        created = duty.generate_duty_tasks(day=day, now=now)
    return len(stored), len(generated), created


def test_query_count_does_not_grow_with_the_people(db):
    # Mondays, not the 4th: the daily and the weekly template of each of the 4 roles.
    small = _queries(5, date(2026, 5, 11))
    large = _queries(100, date(2026, 5, 18))

    assert (small[2], large[2]) == (4 * 5 * 2, 4 * 100 * 2)
    assert small[1] == large[1] == 1, "one INSERT … SELECT"
    # Storing the roles: the same statements, give or take the batches of the members' insert.
    assert large[0] - small[0] <= 2
    assert DutyRoleMember.objects.count() == 400


# --- The page ------------------------------------------------------------------------------------


@pytest.fixture
def made(remote):
    duty.generate_job_duty_tasks(now=at_four("2026-05-04"))
    return remote


def test_a_field_user_sees_only_their_own_tasks_and_marks_one_done(made, client, django_user_model):
    user = make_user(django_user_model, "user4", groups=["field"])  # 刘洋 at the remote
    client.force_login(user)

    page = client.get(reverse("projects:duty-tasks"), {"day": "2026-05-04"})

    assert page.status_code == 200
    text = page.content.decode()
    assert "填写当日工时" in text and "更新任务进度" in text
    assert "检查项目预警与风险" not in text, "another role's task"
    task = DutyTask.objects.get(username="user4", template__remote_id="DT04")
    done = client.post(reverse("projects:duty-task-done", args=[task.pk]))
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == user


def test_the_page_a_field_user_lands_on_lists_their_tasks_of_today(remote, client, django_user_model):
    from django.utils import timezone

    duty.refresh_duty_roles(now=timezone.now())
    duty.generate_duty_tasks(day=timezone.localdate(), now=timezone.now())
    client.force_login(make_user(django_user_model, "user8", groups=["field"]))  # 黄敏, 客服专员

    landing = client.get(reverse("landing"), follow=True)

    assert landing.redirect_chain[-1][0] == reverse("uploads:upload-page")
    text = landing.content.decode()
    assert "今日岗位任务" in text and "回访未解决问题" in text
    assert "填写当日工时" not in text


def test_a_field_user_cannot_mark_anothers_task(made, client, django_user_model):
    client.force_login(make_user(django_user_model, "user4", groups=["field"]))
    other = DutyTask.objects.get(username="user1", template__remote_id="DT01")

    answer = client.post(reverse("projects:duty-task-done", args=[other.pk]))

    assert answer.status_code == 404
    other.refresh_from_db()
    assert other.done_at is None


def test_staff_see_everyones_tasks_and_filter_by_person(made, client, staff_user):
    client.force_login(staff_user)

    every = client.get(reverse("projects:duty-tasks"), {"day": "2026-05-04"}).content.decode()
    one = client.get(reverse("projects:duty-tasks"), {"day": "2026-05-04", "person": "黄敏"}).content.decode()

    assert "张伟" in every and "黄敏" in every and "刘洋" in every
    assert "黄敏" in one and "回访未解决问题" in one and "填写当日工时" not in one


def test_signed_out_and_groupless_people_see_no_tasks(made, client, outsider):
    assert client.get(reverse("projects:duty-tasks")).status_code == 302
    client.force_login(outsider)
    assert client.get(reverse("projects:duty-tasks")).status_code == 403


def test_a_bad_day_is_a_chinese_400(made, client, staff_user):
    client.force_login(staff_user)
    answer = client.get(reverse("projects:duty-tasks"), {"day": "5/4"})
    assert answer.status_code == 400
    assert "日期" in answer.content.decode()
