"""The remote project system as the sandbox serves it: a paged project list (`updated_since`) and
project detail, over deterministic data for a few thousand projects of the three types
(售前/售后/销售), behind an API key.

Every project is generated from (its number, its revision), so two sandboxes agree and a test can
predict what the remote holds. The control API under `/__sandbox__/projects` changes the remote
the way people would (a status change, a deleted project, a project whose detail call fails) and
bumps that project's `updated_at` to now; the shared `mutate_rate` fault changes statuses at random
between calls so change detection has something to find in a demo or a benchmark.
"""

import hashlib
import random
import re
import threading
from datetime import UTC, date, datetime, timedelta

from sandbox.server import Request, Response, Router, SandboxState, apply_faults

PREFIX = "/pm-api/v1"
API_KEY_HEADER = "X-Api-Key"
DEFAULT_PROJECT_COUNT = 3000
MAX_PAGE_SIZE = 500
# Revision 0 of every project was last updated at this instant plus its number in seconds.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
BASE_DAY = date(2026, 1, 1)

TYPES = ("presales", "aftersales", "sales")  # 售前 / 售后 / 销售
STATUSES = ("not_started", "in_progress", "paused", "completed", "cancelled")
TASK_STATUSES = ("todo", "doing", "done")
SEVERITIES = ("low", "medium", "high", "critical")
OPPORTUNITY_STAGES = ("lead", "qualify", "proposal", "quote", "negotiation")
PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈杰", "杨静", "赵磊", "黄敏", "周涛", "吴琳")
CUSTOMERS = ("华东机械", "南方电力", "北辰物流", "西部建设", "中原食品", "海川医药", "星河电子", "远航船舶")


# Every CRUNCH_EVERY-th project has a week of overtime (see `build_project`).
CRUNCH_EVERY = 50


def crunch_start(number: int) -> int:
    """The day offset (from BASE_DAY) where project `number`'s crunch week starts."""
    fixed = _rng(number, 0)
    start = fixed.randrange(0, 300)
    return start + fixed.randrange(30, 240) // 2


def hourly_rate(person: str) -> str:
    """A person's cost per hour: 100.00 for the first of PEOPLE, 20 more for each next one."""
    return f"{100 + 20 * PEOPLE.index(person)}.00"


# Duty roles (岗位) and their templates, the same on every sandbox: (id, name, indexes into PEOPLE,
# templates as (id, title, frequency, weekday or day of month)). Weekday 1 is Monday; day 31 of a
# shorter month is its last day.
DUTY_ROLES = (
    (
        "R01",
        "项目经理",
        (0, 1, 2),
        (
            ("DT01", "检查项目预警与风险", "daily", None),
            ("DT02", "提交项目周报", "weekly", 5),
            ("DT03", "核对本月回款计划", "monthly", 1),
        ),
    ),
    (
        "R02",
        "实施工程师",
        (3, 4, 5, 6),
        (
            ("DT04", "填写当日工时", "daily", None),
            ("DT05", "更新任务进度", "weekly", 1),
            ("DT06", "备份客户现场配置", "monthly", 31),
        ),
    ),
    (
        "R03",
        "客服专员",
        (7, 8, 9),
        (
            ("DT07", "回访未解决问题", "daily", None),
            ("DT08", "整理客户反馈月报", "monthly", 28),
        ),
    ),
)


def duty_member(index: int) -> dict:
    """A person as the duty-role listing gives them; `username` is their Yunqiao login."""
    person = _person(random.Random(0), index)  # noqa: S311 (the index decides; no draw)
    return {"id": person["id"], "name": person["name"], "phone": person["phone"], "username": person["wecom_userid"]}


def project_id(number: int) -> str:
    return f"P{number:05d}"


def _number(remote_id: str) -> int | None:
    match = re.fullmatch(r"P(\d{5})", remote_id)
    return int(match.group(1)) if match else None


def _person_index(person_id: str) -> int:
    match = re.fullmatch(r"U(\d{3})", person_id)
    if not match or not 1 <= int(match.group(1)) <= len(PEOPLE):
        raise ValueError("person ids look like U001")
    return int(match.group(1)) - 1


def _rng(number: int, revision: int) -> random.Random:
    seed = int.from_bytes(hashlib.sha256(f"{number}:{revision}".encode()).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311 (deterministic test data, not crypto)


def _day(offset: int) -> str:
    return (BASE_DAY + timedelta(days=offset)).isoformat()


def _moment(offset_hours: int) -> str:
    return (EPOCH + timedelta(hours=offset_hours)).isoformat(timespec="seconds")


def _person(rng: random.Random, index: int | None = None) -> dict:
    name = PEOPLE[index if index is not None else rng.randrange(len(PEOPLE))]
    key = PEOPLE.index(name) + 1
    return {
        "id": f"U{key:03d}",
        "name": name,
        "phone": f"1380000{key:04d}",
        "email": f"user{key}@example.com",
        "wecom_userid": f"user{key}",
    }


def build_project(number: int, revision: int, *, status: str | None = None, updated_at: str | None = None) -> dict:
    """The full document of project `number` at `revision` (the same inputs give the same output)."""
    # The static part (type, customer, plan) depends on the number only; the moving part
    # (status, progress, costs, actuals) on the revision too.
    fixed = _rng(number, 0)
    rng = _rng(number, revision)
    project_type = TYPES[number % 3]
    start = fixed.randrange(0, 300)
    length = fixed.randrange(30, 240)
    budget = fixed.randrange(50, 2000) * 1000
    customer_index = fixed.randrange(len(CUSTOMERS))
    status = status or STATUSES[rng.randrange(len(STATUSES))]
    progress = {"not_started": 0, "completed": 100}.get(status, rng.randrange(5, 96))
    milestones = []
    shares = [30, 40, 30] if fixed.random() < 0.5 else [20, 30, 30, 20]
    for index, share in enumerate(shares):
        planned = start + (index + 1) * length // len(shares)
        done = progress >= (index + 1) * 100 // len(shares)
        milestones.append(
            {
                "id": f"{project_id(number)}-M{index + 1}",
                "name": ["启动", "方案确认", "上线", "验收"][index],
                "planned_date": _day(planned),
                "actual_date": _day(planned + rng.randrange(-3, 10)) if done else None,
                "status": "done" if done else "pending",
                "payment_share": share,
            }
        )
    tasks = [
        {
            "id": f"{project_id(number)}-T{index + 1}",
            "name": f"任务 {index + 1}",
            "assignee": _person(fixed)["name"],
            "due_date": _day(start + fixed.randrange(5, length)),
            "progress": min(100, progress + rng.randrange(-20, 20)) if progress else 0,
            "status": TASK_STATUSES[min(2, progress // 40)] if progress < 100 else "done",
        }
        for index in range(fixed.randrange(2, 6))
    ]
    for task in tasks:
        task["progress"] = max(0, task["progress"])
    issues = []
    unanswered = _rng(number, -1)
    for index in range(fixed.randrange(0, 3)):
        opened = start * 24 + fixed.randrange(0, length * 24)
        resolved = rng.random() < 0.6
        # Drawn in the order they always were, so that every other field stays what it was.
        severity = SEVERITIES[fixed.randrange(len(SEVERITIES))]
        blocking = fixed.random() < 0.2
        responded = _moment(opened + fixed.randrange(1, 48))
        # Some open issues were never answered (the response-time jobs look for them).
        if not resolved and unanswered.random() < 0.4:
            responded = None
        issues.append(
            {
                "id": f"{project_id(number)}-I{index + 1}",
                "title": f"问题 {index + 1}",
                "severity": severity,
                "blocking": blocking,
                "opened_at": _moment(opened),
                "responded_at": responded,
                "resolved_at": _moment(opened + fixed.randrange(48, 200)) if resolved else None,
                "due_at": _moment(opened + 72),
            }
        )
    payment_plans = [
        {
            "id": f"{project_id(number)}-PAY{index + 1}",
            "name": f"第 {index + 1} 期款",
            "milestone_id": milestone["id"],
            "amount": f"{budget * share // 100}.00",
            "due_date": milestone["planned_date"],
            "received_amount": f"{budget * share // 100}.00" if milestone["status"] == "done" else "0.00",
            "received_date": milestone["actual_date"],
        }
        for index, (share, milestone) in enumerate(zip(shares, milestones, strict=True))
    ]
    timesheets = [
        {
            "person": task["assignee"],
            "date": _day(start + day),
            "hours": f"{fixed.randrange(2, 9)}.0",
            "rate": hourly_rate(task["assignee"]),
        }
        for day, task in enumerate(tasks)
    ]
    if number % CRUNCH_EVERY == 0:
        # A crunch week: the owner logs 9 h a day for the 7 days from the middle of the plan, more
        # than a week's capacity on its own (the workload job's case); other weeks stay below it.
        owner = PEOPLE[number % len(PEOPLE)]
        timesheets += [
            {"person": owner, "date": _day(crunch_start(number) + day), "hours": "9.0", "rate": hourly_rate(owner)}
            for day in range(7)
        ]
    # 售前 only: the opportunity's stage and its presale work orders, drawn from their own stream
    # so that every other field keeps its value.
    presale = _rng(number, -2)
    opportunity, work_orders = None, []
    if project_type == "presales":
        opportunity = {
            "stage": OPPORTUNITY_STAGES[presale.randrange(len(OPPORTUNITY_STAGES))],
            "stage_entered_at": _moment(start * 24 + presale.randrange(0, length * 24)),
        }
        for index in range(presale.randrange(0, 3)):
            opened = start * 24 + presale.randrange(0, length * 24)
            closed = presale.random() < 0.5
            work_orders.append(
                {
                    "id": f"{project_id(number)}-WO{index + 1}",
                    "title": f"售前工单 {index + 1}",
                    "opened_at": _moment(opened),
                    "closed_at": _moment(opened + presale.randrange(4, 120)) if closed else None,
                }
            )
    return {
        "id": project_id(number),
        "type": project_type,
        "name": f"{CUSTOMERS[customer_index]}{['售前支持', '售后服务', '销售交付'][number % 3]}项目 {number}",
        "customer": {
            "id": f"C{customer_index + 1:03d}",
            "name": CUSTOMERS[customer_index],
            "contacts": [
                {
                    "name": f"{CUSTOMERS[customer_index]}联系人",
                    "phone": f"1390000{customer_index + 1:04d}",
                    "email": f"contact{customer_index + 1}@customer.example.com",
                }
            ],
        },
        "owner": _person(fixed, number % len(PEOPLE)),
        "status": status,
        "progress": progress,
        "planned_start": _day(start),
        "planned_end": _day(start + length),
        "actual_start": _day(start + rng.randrange(0, 5)) if status != "not_started" else None,
        "actual_end": _day(start + length + rng.randrange(-10, 30)) if status == "completed" else None,
        "budget": f"{budget}.00",
        "actual_cost": f"{budget * rng.randrange(0, 130) // 100}.00",
        "milestones": milestones,
        "tasks": tasks,
        "issues": issues,
        "payment_plans": payment_plans,
        "timesheets": timesheets,
        "opportunity": opportunity,
        "work_orders": work_orders,
        "revision": revision,
        "updated_at": updated_at or (EPOCH + timedelta(seconds=number)).isoformat(timespec="seconds"),
    }


class ProjectRemote:
    """What the remote project system holds: per project a revision, an optional forced status
    and the time it last changed; projects deleted and projects whose detail call fails."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self, *, count: int = DEFAULT_PROJECT_COUNT) -> None:
        with self.lock:
            self.count = count
            self.changes: dict[int, dict] = {}  # number → {"revision", "status", "updated_at"}
            self.deleted: set[int] = set()
            self.failing: set[int] = set()
            # role id → people (indexes into PEOPLE) added to / removed from its default members.
            self.joined: dict[str, set[int]] = {}
            self.left: dict[str, set[int]] = {}

    def duty_roles(self) -> list[dict]:
        """The roles with their members and duty templates, as people at the remote set them."""
        roles = []
        for role_id, name, members, templates in DUTY_ROLES:
            people = (set(members) | self.joined.get(role_id, set())) - self.left.get(role_id, set())
            roles.append(
                {
                    "id": role_id,
                    "name": name,
                    "members": [duty_member(index) for index in sorted(people)],
                    "templates": [
                        {
                            "id": template_id,
                            "title": title,
                            "frequency": frequency,
                            "weekday": when if frequency == "weekly" else None,
                            "day_of_month": when if frequency == "monthly" else None,
                        }
                        for template_id, title, frequency, when in templates
                    ],
                }
            )
        return roles

    def exists(self, number: int | None) -> bool:
        return number is not None and 1 <= number <= self.count and number not in self.deleted

    def document(self, number: int) -> dict:
        change = self.changes.get(number, {})
        return build_project(
            number, change.get("revision", 0), status=change.get("status"), updated_at=change.get("updated_at")
        )

    def change(self, number: int, *, status: str | None = None, new_content: bool = True) -> None:
        """A person edits the project: a new revision (and status), updated now. Without new
        content only `updated_at` moves, as when someone saves a project without changing it."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        current = self.changes.get(number, {})
        self.changes[number] = {
            "revision": current.get("revision", 0) + int(new_content),
            "status": status or current.get("status"),
            "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }

    def mutate(self, numbers, rate: float) -> None:
        """The `mutate_rate` fault: each listed project changes status with this probability."""
        if rate <= 0:
            return
        for number in numbers:
            if random.random() < rate:  # noqa: S311
                self.change(number, status=random.choice(STATUSES))  # noqa: S311

    def listing(self, updated_since: str | None) -> list[dict]:
        """Summaries of the live projects updated after `updated_since`, in id order."""
        rows = []
        for number in range(1, self.count + 1):
            if number in self.deleted:
                continue
            change = self.changes.get(number)
            updated_at = (
                change["updated_at"] if change else (EPOCH + timedelta(seconds=number)).isoformat(timespec="seconds")
            )
            if updated_since and datetime.fromisoformat(updated_at) <= datetime.fromisoformat(updated_since):
                continue
            rows.append({"id": project_id(number), "type": TYPES[number % 3], "updated_at": updated_at})
        return rows


class ProjectsApi:
    """The routes of one remote project system that accepts `api_key`."""

    def __init__(self, *, api_key: str):
        self.api_key = api_key
        self.remote = ProjectRemote()

    @classmethod
    def from_settings(cls) -> "ProjectsApi":
        from django.conf import settings

        return cls(api_key=settings.PROJECTS_REMOTE_API_KEY)

    def register(self, router: Router) -> None:
        router.add("GET", re.escape(PREFIX + "/projects"), self.authorised("pm_list", self.project_list))
        router.add(
            "GET",
            re.escape(PREFIX + "/projects/") + r"(?P<project_id>[^/]+)",
            self.authorised("pm_detail", self.detail),
        )
        router.add("GET", re.escape(PREFIX + "/duty-roles"), self.authorised("pm_duty_roles", self.duty_roles))
        router.add("GET", r"/__sandbox__/projects", self.control_state)
        router.add("POST", r"/__sandbox__/projects", self.control)

    def authorised(self, name: str, handle):
        def view(request: Request, state: SandboxState) -> Response:
            state.count(name)
            state.enter(name)
            try:
                failure = apply_faults(request, state)
                if failure is not None:
                    return failure
                if request.headers.get(API_KEY_HEADER) != self.api_key:
                    return Response(401, {"code": "unauthorized", "message": "API key 无效"})
                return handle(request, state)
            finally:
                state.leave(name)

        return view

    def project_list(self, request: Request, state: SandboxState) -> Response:
        page = max(1, int(request.query.get("page") or 1))
        page_size = max(1, min(MAX_PAGE_SIZE, int(request.query.get("page_size") or 100)))
        updated_since = request.query.get("updated_since") or None
        if updated_since:
            try:
                if datetime.fromisoformat(updated_since).tzinfo is None:
                    raise ValueError
            except ValueError:
                return Response(400, {"code": "invalid", "message": "updated_since 应为带时区的 ISO 8601 时间"})
        with self.remote.lock:
            if page == 1:  # one pass through the list is one chance for each project to change
                self.remote.mutate(range(1, self.remote.count + 1), float(state.fault("mutate_rate")))
            rows = self.remote.listing(updated_since)
        total = len(rows)
        items = rows[(page - 1) * page_size : page * page_size]
        return Response(
            200,
            {
                "page": page,
                "page_size": page_size,
                "total": total,
                "page_count": max(1, -(-total // page_size)),
                "items": items,
            },
        )

    def detail(self, request: Request, state: SandboxState) -> Response:
        number = _number(request.params["project_id"])
        with self.remote.lock:
            if not self.remote.exists(number):
                return Response(404, {"code": "not_found", "message": "项目不存在"})
            if number in self.remote.failing:
                return Response(500, {"code": "internal", "message": "项目数据读取失败"})
            return Response(200, self.remote.document(number))

    def duty_roles(self, request: Request, state: SandboxState) -> Response:
        with self.remote.lock:
            return Response(200, {"roles": self.remote.duty_roles()})

    # --- control ------------------------------------------------------------------------------

    def control_state(self, request: Request, state: SandboxState) -> Response:
        with self.remote.lock:
            return Response(
                200,
                {
                    "count": self.remote.count,
                    "changed": {project_id(n): dict(c) for n, c in self.remote.changes.items()},
                    "deleted": sorted(project_id(n) for n in self.remote.deleted),
                    "failing": sorted(project_id(n) for n in self.remote.failing),
                    "duty_roles": self.remote.duty_roles(),
                },
            )

    def control(self, request: Request, state: SandboxState) -> Response:
        """{"reset": true, "count": N, "status": {"P00001": "completed"}, "touch": [ids],
        "delete": [ids], "restore": [ids], "fail": [ids], "heal": [ids],
        "join_role": {"R01": ["U004"]}, "leave_role": {"R01": ["U001"]}}"""
        body = request.json() or {}
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")

        def numbers(key: str) -> list[int]:
            found = [_number(str(item)) for item in body.get(key, [])]
            if None in found:
                raise ValueError(f"{key}: project ids look like P00001")
            return found

        if body.get("reset"):
            self.remote.reset(count=int(body.get("count") or DEFAULT_PROJECT_COUNT))
        elif "count" in body:
            with self.remote.lock:
                self.remote.count = int(body["count"])
        with self.remote.lock:
            for remote_id, status in (body.get("status") or {}).items():
                number = _number(remote_id)
                if number is None:
                    raise ValueError("status: project ids look like P00001")
                self.remote.change(number, status=status)
            for number in numbers("touch"):
                self.remote.change(number, new_content=False)
            self.remote.deleted |= set(numbers("delete"))
            self.remote.deleted -= set(numbers("restore"))
            self.remote.failing |= set(numbers("fail"))
            self.remote.failing -= set(numbers("heal"))
            for key, moves, undo in (
                ("join_role", self.remote.joined, self.remote.left),
                ("leave_role", self.remote.left, self.remote.joined),
            ):
                for role_id, person_ids in (body.get(key) or {}).items():
                    people = {_person_index(str(person_id)) for person_id in person_ids}
                    moves.setdefault(str(role_id), set()).update(people)
                    undo.setdefault(str(role_id), set()).difference_update(people)
        return self.control_state(request, state)
