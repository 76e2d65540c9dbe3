"""Scheduled jobs of alerting (registered through `alerts/jobs.py`)."""

from alerts.alerting import dispatch
from alerts.registry import job


@job(
    id="dispatch_alert_notifications",
    name="预警消息分组派发",
    cron="* * * * *",
    category="推送",
    risk="low",
    sla_s=50,
    reads=["alerts_alert", "alerts_alertdelivery", "alerts_silence", "alerts_route", "alerts_contact"],
    writes=["alerts_alertdelivery", "alerts_notification"],
    description="把告警中的预警按接收人、规则和项目分组写入通知发件箱；到期的重复提醒与恢复通知一并发送",
)
def dispatch_alert_notifications() -> dict:
    return dispatch.dispatch_alert_notifications()
