from django.core.management.base import BaseCommand

from alerts import registry
from alerts.services import sync_schedules


class Command(BaseCommand):
    help = (
        "Register the job registry into django-q2 schedules (also done after every migrate): add new "
        "jobs with their default cron, disable jobs removed from code, keep cron/enabled edits made by "
        "staff. Prints what changed."
    )

    def handle(self, *args, **options):
        report = sync_schedules()
        self.stdout.write(f"{len(registry.all_jobs())} jobs registered")
        for change, job_ids in report.as_dict().items():
            if job_ids:
                self.stdout.write(f"{change}: {', '.join(job_ids)}")
