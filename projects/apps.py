from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The cache is written only by the sync: staff view it. Staff create and revoke customer links
# and change the sync's settings.
_CACHE = ("project", "milestone", "task", "projectissue", "paymentplan", "timesheet")
_RUNS = ("projectsyncrun", "projectchange")


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("项目缓存")
    group_permissions = {
        "staff": [f"view_{model}" for model in _CACHE + _RUNS]
        + ["view_customerlink", "add_customerlink", "change_customerlink"]
        + ["view_projectsyncconfig", "change_projectsyncconfig"],
    }
