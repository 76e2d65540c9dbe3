"""Runs started by hand (admin, API, page, `run_job` command, retries): one rule decides who may,
and one function creates the row, whatever the entry point."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from alerts import registry
from alerts.models import JobRun
from alerts.runs import IllegalRunTransition, execute_job, finish_run
from alerts.schedules import RUN_JOB_TASK

logger = logging.getLogger(__name__)


class RunNotAllowed(PermissionError):
    """The user may not start runs by hand."""


# The permission that lets a user start a run by hand (granted to the staff group).
RUN_PERMISSION = "alerts.run_job"


def may_start_runs(user) -> bool:
    """The one rule for starting a run by hand, whatever the entry point (admin actions, run
    retry, API, page, `run_job` command). `user=None` is the operator of the host itself (the
    management command), who has every right already."""
    if user is None:
        return True
    return bool(user.is_active and user.has_perm(RUN_PERMISSION))


def _create_manual_run(*, job_id: str, user, retry_of: JobRun | None) -> tuple[registry.JobSpec, JobRun]:
    if not may_start_runs(user):
        raise RunNotAllowed(_("你没有手动运行任务的权限"))
    spec = registry.get_job(job_id)
    run = JobRun.objects.create(
        job_id=spec.id,
        trigger=JobRun.Trigger.RETRY if retry_of else JobRun.Trigger.MANUAL,
        triggered_by=user,
        retry_of=retry_of,
        sla_s=spec.sla_s,
    )
    return spec, run


def trigger_job(*, job_id: str, user, retry_of: JobRun | None = None) -> JobRun:
    """Queue a manual (or retry) run: a row now, the worker task once the transaction commits."""
    with transaction.atomic():
        spec, run = _create_manual_run(job_id=job_id, user=user, retry_of=retry_of)
        transaction.on_commit(lambda: _enqueue_run(run.pk, spec.id, run.trigger))
    logger.info("job run queued", extra={"job_id": spec.id, "run_id": run.pk, "trigger": run.trigger})
    return run


def run_job_here(*, job_id: str, user) -> JobRun:
    """Run a job by hand in this process (the `run_job` command), under the same rule and the same
    overlap policy as a queued run."""
    with transaction.atomic():
        _spec, run = _create_manual_run(job_id=job_id, user=user, retry_of=None)
    return execute_job(job_id=job_id, trigger=run.trigger, run_id=run.pk)


def retry_run(*, run: JobRun, user) -> JobRun:
    """Run a failed or timed-out job again, linked to the run it retries."""
    if run.status not in (JobRun.Status.FAILED, JobRun.Status.TIMEOUT):
        raise IllegalRunTransition(_("只能重试失败或超时的运行"))
    return trigger_job(job_id=run.job_id, user=user, retry_of=run)


def _enqueue_run(run_id: int, job_id: str, trigger: str) -> None:
    from django_q.tasks import async_task

    try:
        task_id = async_task(RUN_JOB_TASK, job_id, trigger, run_id, task_name=f"{job_id}#{run_id}", group=job_id)
    except Exception as exc:
        logger.exception("job run could not be enqueued", extra={"job_id": job_id, "run_id": run_id})
        finish_run(
            run_id,
            job_id=job_id,
            status=JobRun.Status.FAILED,
            from_statuses=[JobRun.Status.QUEUED],
            error=_("无法放入任务队列：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"},
        )
        return
    JobRun.objects.filter(pk=run_id).update(task_id=str(task_id or "")[:64])
