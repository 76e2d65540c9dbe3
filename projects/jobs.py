"""Scheduled jobs of the projects app (autodiscovered by alerts.registry)."""

from django.conf import settings

from alerts.registry import job
from projects import housekeeping, sync
from projects.models import SyncRunStatus

CACHE_TABLES = [
    "projects_project",
    "projects_milestone",
    "projects_task",
    "projects_projectissue",
    "projects_paymentplan",
    "projects_timesheet",
]


@job(
    id="sync_projects",
    name="项目数据同步",
    cron=lambda: settings.PROJECTS_SYNC_CRON,
    category="其他",
    risk="medium",
    sla_s=540,
    reads=["projects:remote", "projects_projectsyncconfig", "projects_synccursor"],
    writes=[*CACHE_TABLES, "projects_projectsyncrun", "projects_projectchange", "projects_synccursor"],
    description="增量同步远程项目系统中有变化的项目（每天首次运行为全量，并找出已删除的项目），只写入内容有变化的项目",
)
def sync_projects() -> dict:
    run = sync.sync_projects()
    if run.status == SyncRunStatus.FAILED:
        raise sync.ProjectSyncFailed(f"run #{run.pk}: [{run.error_code}] {run.error}")
    return {
        "run_id": run.pk,
        "mode": run.mode,
        "status": run.status,
        "total": run.projects_total,
        "updated": run.updated + run.created,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
        "failed": run.failed,
    }


@job(
    id="cleanup_project_cache",
    name="清理过期项目缓存",
    cron="0 2 * * *",
    category="其他",
    risk="low",
    sla_s=300,
    reads=["projects_project", "projects_projectsyncrun"],
    writes=[*CACHE_TABLES, "projects_projectsyncrun", "projects_projectchange"],
    description="删除远程已删除超过 PROJECTS_CACHE_RETENTION_DAYS 天的项目缓存，以及过期的同步记录",
)
def cleanup_project_cache() -> dict:
    return housekeeping.delete_expired_cache()


@job(
    id="cleanup_customer_links",
    name="清理过期客户链接",
    cron="0 3 * * *",
    category="其他",
    risk="low",
    sla_s=300,
    reads=["projects_customerlink"],
    writes=["projects_customerlink"],
    description="删除过期或撤销超过 30 天的客户链接（其页面此后显示“链接无效”）",
)
def cleanup_customer_links() -> dict:
    return {"deleted": housekeeping.delete_expired_links()}


# The business jobs read the cache; importing them registers their jobs and rules.
from projects import alert_jobs, duty, health, issue_metrics, labor_cost  # noqa: E402, F401
