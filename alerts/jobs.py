"""System jobs of the scheduler itself."""

from alerts import redelivery, services
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


# --- The notification outbox (alerts.redelivery) ------------------------------------------------


@job(
    id="dispatch_due_notifications",
    name="通知重试派发",
    cron="* * * * *",
    category="推送",
    risk="low",
    sla_s=30,
    reads=["alerts_notification"],
    writes=["alerts_notification"],
    description="把到了重试时间（退避或限流等待结束）的通知交给后台发送",
)
def dispatch_due_notifications() -> dict:
    return {"dispatched": redelivery.dispatch_due_notifications()}


@job(
    id="send_alert_notifications",
    name="消息推送服务",
    cron="15 * * * *",
    category="推送",
    risk="low",
    sla_s=60,
    reads=["alerts_notification"],
    writes=["alerts_notification"],
    description="兜底：发送进程中断（租约过期）或任务丢失的通知重新排队并派发",
)
def send_alert_notifications() -> dict:
    return redelivery.revive_stalled_notifications()


@job(
    id="retry_failed_notifications",
    name="通知重试机制",
    cron="30 * * * *",
    category="推送",
    risk="low",
    sla_s=60,
    reads=["alerts_notification"],
    writes=["alerts_notification"],
    description="兜底：所有到期的失败通知重新派发（正常由每分钟的通知重试派发完成）",
)
def retry_failed_notifications() -> dict:
    return redelivery.retry_failed_notifications()


# Alerting declares its own jobs beside its code; importing them here registers them.
from alerts.alerting import jobs as _alerting_jobs  # noqa: E402, F401
