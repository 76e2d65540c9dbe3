"""Scheduled jobs of alerting (registered through `alerts/jobs.py`). The rules they evaluate are
declared by each app's `alert_rules.py` (the dead-man's switch by `alerts/alert_rules.py`),
autodiscovered when the alerts app is ready."""

from django.utils import timezone

from alerts.alerting import dispatch, escalation
from alerts.alerting.lifecycle import evaluate_rule
from alerts.alerting.messages import in_site_language
from alerts.alerting.rules import evaluated_rules
from alerts.registry import job


@job(
    id="check_system_alerts",
    name="系统预警检查",
    cron="* * * * *",
    category="预警",
    risk="low",
    sla_s=50,
    reads=[
        "alerts_jobrun",
        "alerts_jobstats",
        "alerts_scheduledjob",
        "upload_history",
        "daily_sync_status",
        "sync_syncbatch",
    ],
    writes=["alerts_alert"],
    description="任务失败/未按时成功、上传失败、单日同步失败、批量同步失败、用友令牌失败：成立的产生预警，不再成立的自动恢复",
)
def check_system_alerts() -> dict:
    now = timezone.now()
    return evaluate_system_rules(now=now)


@in_site_language
def evaluate_system_rules(*, now) -> dict:
    """One evaluation of every rule declared with its query, over the full set of keys still true."""
    return {
        rule.id: evaluate_rule(rule=rule.id, firing=rule.evaluate(now), now=now).as_dict() for rule in evaluated_rules()
    }


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


@job(
    id="check_alert_escalation",
    name="预警升级服务",
    cron="10 * * * *",
    category="推送",
    risk="medium",
    sla_s=120,
    reads=["alerts_alert", "alerts_alertdelivery", "alerts_contact"],
    writes=["alerts_alert", "alerts_alertdelivery", "alerts_notification"],
    description="严重级别对应时限内无人确认的预警，升级通知到升级链的下一级（负责人 → 组长 → 经理）",
)
def check_alert_escalation() -> dict:
    return escalation.check_alert_escalation()
