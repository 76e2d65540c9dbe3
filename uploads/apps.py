from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = _("单据图片上传")
    # Staff see, retry (change), soft-delete and export upload records, and print upload QR codes.
    # Records are only created by uploads, never added by hand. Field users upload through pages
    # and the API, which check the group themselves; they need no admin permission.
    group_permissions = {
        "staff": ["view_uploadrecord", "change_uploadrecord", "delete_uploadrecord", "create_upload_link"],
    }

    def ready(self) -> None:
        from django.utils import timezone
        from django_q.signals import post_spawn

        # When this process (a cluster's, whose workers inherit or repeat it) set Django up.
        self.started_at = timezone.now()

        from uploads import tasks

        post_spawn.connect(tasks.take_back_on_worker_start, dispatch_uid="uploads.take_back_on_worker_start")
