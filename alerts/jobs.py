"""System jobs of the scheduler itself."""

from alerts import services
from alerts.registry import job


@job(
    id="cleanup_old_job_runs",
    name="清理过期运行记录",
    cron="40 3 * * *",
    category="其他",
    risk="low",
    sla_s=300,
    reads=["alerts_jobrun"],
    writes=["alerts_jobrun"],
    description="删除早于 JOB_RUN_RETENTION_DAYS 天的任务运行记录（累计统计保留）",
)
def cleanup_old_job_runs() -> dict:
    return {"deleted": services.delete_old_job_runs()}


@job(
    id="expire_overdue_job_runs",
    name="运行超时巡检",
    cron="*/5 * * * *",
    category="检查",
    risk="low",
    sla_s=60,
    reads=["alerts_jobrun"],
    writes=["alerts_jobrun"],
    description="把工作进程被终止后仍显示运行中的记录标为超时，把长期无人领取的排队记录标为失败",
)
def expire_overdue_job_runs() -> dict:
    return services.expire_overdue_runs()


# Alerting declares its own jobs beside its code; importing them here registers them.
from alerts.alerting import jobs as _alerting_jobs  # noqa: E402, F401
