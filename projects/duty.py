"""岗位职责任务自动生成: the remote's roles (岗位), their people and duty templates are cached, and
each morning one INSERT … SELECT makes the day's task of every template for every person in its
role, once: the unique (template, person, day) constraint lets a re-run or a second worker insert
nothing twice.

People are matched to Yunqiao accounts by `username` (the remote member's login name): an account
with that username sees the person's tasks on its own page.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts.registry import job
from projects.models import DutyFrequency, DutyRole, DutyRoleMember, DutyTask, DutyTemplate
from projects.remote import RemoteError, get_remote

logger = logging.getLogger(__name__)


class BadDutyRoles(ValueError):
    """The remote's duty roles cannot be read (a field missing or a schedule out of range)."""


def _parse_templates(role: dict) -> list[dict]:
    templates = []
    for item in role["templates"]:
        frequency = item["frequency"]
        weekday = item.get("weekday") if frequency == DutyFrequency.WEEKLY else None
        day_of_month = item.get("day_of_month") if frequency == DutyFrequency.MONTHLY else None
        if frequency not in DutyFrequency.values:
            raise BadDutyRoles(f"template {item.get('id')}: unknown frequency {frequency!r}")
        if frequency == DutyFrequency.WEEKLY and not (isinstance(weekday, int) and 1 <= weekday <= 7):
            raise BadDutyRoles(f"template {item.get('id')}: weekday must be 1-7")
        if frequency == DutyFrequency.MONTHLY and not (isinstance(day_of_month, int) and 1 <= day_of_month <= 31):
            raise BadDutyRoles(f"template {item.get('id')}: day_of_month must be 1-31")
        templates.append(
            {
                "remote_id": str(item["id"]),
                "title": str(item["title"])[:200],
                "description": str(item.get("description") or ""),
                "frequency": frequency,
                "weekday": weekday,
                "day_of_month": day_of_month,
            }
        )
    return templates


@transaction.atomic
def store_duty_roles(*, source: str, roles: list[dict], now: datetime) -> dict:
    """Replace the cached roles of `source` by the remote's: roles and templates upserted by their
    remote ids (so tasks keep their template), templates the remote dropped made inactive, members
    replaced. A handful of statements, whatever the number of roles."""
    try:
        parsed = {
            str(role["id"]): {
                "name": str(role.get("name") or role["id"])[:100],
                "templates": _parse_templates(role),
                "members": {
                    str(member["id"]): {
                        "person_name": str(member.get("name") or member["id"])[:100],
                        "username": str(member.get("username") or "")[:150],
                        "phone": str(member.get("phone") or "")[:50],
                    }
                    for member in role["members"]
                },
            }
            for role in roles
        }
    except (KeyError, TypeError) as exc:
        raise BadDutyRoles(f"{type(exc).__name__}: {exc}") from None
    DutyRole.objects.bulk_create(
        [DutyRole(source=source, remote_id=rid, name=role["name"], fetched_at=now) for rid, role in parsed.items()],
        update_conflicts=True,
        unique_fields=["source", "remote_id"],
        update_fields=["name", "fetched_at"],
    )
    role_ids = dict(DutyRole.objects.filter(source=source, remote_id__in=list(parsed)).values_list("remote_id", "pk"))
    templates = [
        DutyTemplate(role_id=role_ids[rid], source=source, active=True, **template)
        for rid, role in parsed.items()
        for template in role["templates"]
    ]
    DutyTemplate.objects.bulk_create(
        templates,
        update_conflicts=True,
        unique_fields=["source", "remote_id"],
        update_fields=["role", "title", "description", "frequency", "weekday", "day_of_month", "active"],
    )
    DutyTemplate.objects.filter(source=source, active=True).exclude(
        remote_id__in=[template.remote_id for template in templates]
    ).update(active=False)
    # Members have no history of their own: the role's current people replace the cached ones.
    DutyRoleMember.objects.filter(role__source=source).delete()
    DutyRoleMember.objects.bulk_create(
        [
            DutyRoleMember(role_id=role_ids[rid], person_key=key, **member)
            for rid, role in parsed.items()
            for key, member in role["members"].items()
        ],
        batch_size=500,
    )
    # A role the remote no longer lists keeps its templates' tasks but makes no new ones.
    DutyTemplate.objects.filter(source=source, active=True).exclude(role__remote_id__in=list(parsed)).update(
        active=False
    )
    return {"roles": len(parsed), "templates": len(templates)}


def refresh_duty_roles(*, now: datetime) -> dict[str, str]:
    """Fetch every source's duty roles (outside any transaction) and cache them. A source that
    fails keeps its cached roles, and the outcome says why: {"main": "ok" | "<error code>"}."""
    outcome = {}
    for source in settings.PROJECTS_SOURCES:
        try:
            roles = get_remote().duty_roles(source=source)
            store_duty_roles(source=source, roles=roles, now=now)
        except RemoteError as exc:
            logger.warning("duty roles not refreshed", extra={"source": source, "code": exc.code})
            outcome[source] = exc.code
        except BadDutyRoles as exc:
            logger.warning("duty roles unreadable", extra={"source": source, "error": str(exc)})
            outcome[source] = "bad_document"
        else:
            outcome[source] = "ok"
    return outcome


def due_month_days(day: date) -> list[int]:
    """The `day_of_month` values due on `day`: its own, and on a month's last day the days the
    month lacks (a template on the 31st runs on 30 April and 28 February)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return list(range(day.day, 32)) if day.day == last else [day.day]


def generate_duty_tasks(*, day: date, now: datetime) -> int:
    """Insert the day's task of every active template due on `day` for every person of its role,
    skipping those already made. One statement; answers how many it inserted."""
    task, template, member = DutyTask._meta, DutyTemplate._meta, DutyRoleMember._meta
    q = connection.ops.quote_name
    month_days = due_month_days(day)
    tasks, templates, members = q(task.db_table), q(template.db_table), q(member.db_table)
    month_placeholders = ", ".join(["%s"] * len(month_days))
    # Only our models' table names and placeholders are interpolated.
    sql = (
        f"INSERT INTO {tasks} "  # noqa: S608
        "(template_id, day, person_key, person_name, username, title, created_at) "
        "SELECT t.id, %s, m.person_key, m.person_name, m.username, t.title, %s "
        f"FROM {templates} t JOIN {members} m ON m.role_id = t.role_id "
        "WHERE t.active = %s AND (t.frequency = %s OR (t.frequency = %s AND t.weekday = %s) "
        f"OR (t.frequency = %s AND t.day_of_month IN ({month_placeholders}))) "
        "ON CONFLICT (template_id, person_key, day) DO NOTHING"
    )
    ops = connection.ops
    params = [
        ops.adapt_datefield_value(day),
        ops.adapt_datetimefield_value(now),
        True,
        DutyFrequency.DAILY.value,
        DutyFrequency.WEEKLY.value,
        day.isoweekday(),
        DutyFrequency.MONTHLY.value,
        *month_days,
    ]
    # One statement: atomic on its own, and the constraint settles a race with another worker.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def mark_done(*, task_id: int, user, now: datetime | None = None) -> bool:
    """Mark a duty task done, by its own person or by staff (callers check who); a second click
    changes nothing (conditional UPDATE)."""
    return bool(
        DutyTask.objects.filter(pk=task_id, done_at__isnull=True).update(done_at=now or timezone.now(), done_by=user)
    )


@job(
    id="generate_job_duty_tasks",
    name="岗位职责任务自动生成",
    cron="0 4 * * *",
    category="其他",
    risk="low",
    sla_s=300,
    reads=["projects:remote", "projects_dutyrole", "projects_dutytemplate", "projects_dutyrolemember"],
    writes=["projects_dutyrole", "projects_dutytemplate", "projects_dutyrolemember", "projects_dutytask"],
    description="从项目系统获取岗位、岗位成员和职责模板（每天/每周某天/每月某日），为岗位上的每个人生成当天的职责任务，每人每天每项只生成一次",
)
def generate_job_duty_tasks(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    roles = refresh_duty_roles(now=now)
    day = timezone.localdate(now)
    return {"day": day.isoformat(), "created": generate_duty_tasks(day=day, now=now), "roles": roles}
