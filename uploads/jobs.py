"""Scheduled jobs of uploads, declared with the scheduler registry."""

from alerts.registry import job
from uploads import services


@job(
    id="recover_stalled_uploads",
    name="上传恢复巡检",
    cron="* * * * *",
    category="检查",
    risk="low",
    sla_s=60,
    reads=["upload_history", "upload_slot"],
    writes=["upload_history"],
    description="把任务丢失的待上传/上传超时记录重新入队，并派发到期的重试",
)
def recover_stalled_uploads() -> dict:
    return services.requeue_stalled_uploads()


@job(
    id="purge_uploaded_local_copies",
    name="清理已上传的本地副本与过期幂等键",
    cron="30 3 * * *",
    category="其他",
    risk="medium",
    sla_s=600,
    reads=["upload_history", "upload_client_request"],
    writes=["upload_history", "upload_client_request"],
    description=(
        "删除超过保留天数（UPLOAD_LOCAL_RETENTION_DAYS）的上传成功记录的本地文件；未完成的记录不受影响。"
        "并删除超过 UPLOAD_IDEMPOTENCY_KEY_TTL_H 小时的幂等键（Idempotency-Key），上传记录保留"
    ),
)
def purge_uploaded_local_copies() -> dict:
    # One daily retention run for both: the id stays, so schedules staff edited and run history
    # carry on.
    return {"purged": services.purge_local_copies(), "expired_keys": services.expire_idempotency_keys()}
