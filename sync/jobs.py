"""Scheduled jobs of the sync app (autodiscovered by alerts.registry)."""

from django.conf import settings

from alerts.registry import job
from sync import services


@job(
    id="sync_yesterday",
    name="每日 ERP 数据同步",
    cron=lambda: settings.SYNC_NIGHTLY_CRON,
    category="其他",
    risk="medium",
    # Below Q_TASK_TIMEOUT_S (600 s), past which django-q2 kills the task: one day takes seconds.
    sla_s=540,
    reads=["yonyou:documents"],
    writes=[
        "daily_sync_status",
        "sync_syncbatch",
        "sync_syncbatchday",
        "sync_salesorder",
        "sync_purchaseorder",
        "sync_purchasearrival",
        "sync_receivable",
        "sync_materialstock",
        "sync_productionorder",
        "sync_productionmaterialline",
        "sync_outsourcingorder",
        "sync_workreport",
        "sync_engineeringchange",
        "sync_equipmentmaintenanceplan",
        "sync_quotation",
        "sync_opportunity",
    ],
    description="同步昨天（业务日期）的全部 ERP 单据；即使该日期已同步过也重新同步，以收到当天的修改；"
    "遇到临时故障时按退避策略自动重试",
)
def sync_yesterday() -> dict:
    batch = services.sync_yesterday()
    day = batch.days.get()
    if batch.status == "failed":
        # The run is recorded as failed (and alerted on) by the scheduler; the day row keeps the
        # error for the sync page and a retry.
        raise services.NightlySyncFailed(f"{day.sync_date}: [{day.error_code}] {day.error_message}")
    return {
        "date": day.sync_date.isoformat(),
        # "retrying": a transient failure; the batch tries the day again until its horizon ends.
        "status": day.status,
        "batch_id": batch.pk,
        "records": day.records,
        "failed_records": day.failed_records,
        "next_attempt_at": day.next_attempt_at.isoformat() if day.next_attempt_at else None,
        "error": day.error_message,
    }


@job(
    id="resume_interrupted_batches",
    name="批量同步恢复巡检",
    cron="*/2 * * * *",
    category="检查",
    risk="low",
    sla_s=60,
    reads=["sync_syncbatch", "sync_syncbatchday"],
    writes=["sync_syncbatch"],
    description="找出进程中断（租约过期）或任务丢失的批量同步，从第一个未完成的日期继续",
)
def resume_interrupted_batches() -> dict:
    return {"resumed": services.resume_interrupted_batches()}
