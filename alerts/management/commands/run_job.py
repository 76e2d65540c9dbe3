from django.core.management.base import BaseCommand, CommandError

from alerts import registry
from alerts.models import JobRun
from alerts.services import run_job_here, trigger_job


class Command(BaseCommand):
    help = (
        "Run one registered job now. By default in this process (recorded as a manual JobRun, under "
        "the same overlap policy as the workers); with --queue, queue it for a worker instead. Exits "
        "non-zero when the run does not succeed."
    )

    def add_arguments(self, parser):
        parser.add_argument("job_id", help="the job's id, e.g. cleanup_old_job_runs")
        parser.add_argument("--queue", action="store_true", help="queue the run for a worker and return")

    def handle(self, *args, job_id, queue, **options):
        if not registry.is_registered(job_id):
            raise CommandError(f"unknown job {job_id!r}; known: {', '.join(s.id for s in registry.all_jobs())}")
        # user=None: the operator of this host, who may run any job (services.may_start_runs).
        if queue:
            run = trigger_job(job_id=job_id, user=None)
            self.stdout.write(f"queued run #{run.pk}")
            return
        run = run_job_here(job_id=job_id, user=None)
        self.stdout.write(f"run #{run.pk}: {run.status} in {run.duration_s or 0:.3f}s {run.result or ''}")
        if run.error:
            self.stderr.write(run.error)
        if run.status != JobRun.Status.SUCCESS:
            raise CommandError(f"run #{run.pk} ended {run.status}")
