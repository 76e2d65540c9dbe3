"""The documented shape of each projects answer, for the OpenAPI schema only.

The bodies themselves are built by projects.presenters and projects.config (plain dicts, the seed's
shapes, which integrators rely on) and wrapped by `projects.api.envelope`; nothing here validates
input or builds an answer. Money is a decimal number as text ("1200.50"), a date "YYYY-MM-DD", a
time ISO 8601 with its offset. tests/projects checks every real answer against these.
"""

from rest_framework import serializers

from config.schema import envelope_of
from projects import links
from projects.models import ProjectChange, ProjectStatus, ProjectSyncConfig, ProjectSyncRun, ProjectType, SyncRunStatus

MONEY = {"help_text": "a decimal number as text, e.g. 1200.50"}
LINK_STATES = (links.VALID, links.EXPIRED, links.REVOKED)
# What verify-access says of a token: a link's state, or that it is no link, or another project's.
LINK_CHECK_STATES = (*LINK_STATES, links.INVALID, "other_project")


class ProjectSummarySerializer(serializers.Serializer):
    """A cached project in a list (presenters.project_summary)."""

    id = serializers.CharField(help_text="the project's id in the project system")
    source = serializers.CharField(help_text="the remote source it is read from")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=ProjectType.choices)
    type_display = serializers.CharField()
    status = serializers.ChoiceField(choices=ProjectStatus.choices)
    status_display = serializers.CharField()
    progress = serializers.IntegerField(help_text="percent, 0 to 100")
    customer = serializers.CharField()
    owner = serializers.CharField()
    planned_end = serializers.DateField(allow_null=True)
    changed_at = serializers.DateTimeField(help_text="when its content last changed in the cache")
    fetched_at = serializers.DateTimeField(help_text="when it was last read from the project system")
    sync_error_code = serializers.CharField(help_text="why its last read failed, or empty")


class ProjectMilestoneSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    planned_date = serializers.DateField(allow_null=True)
    actual_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text="as the project system names it: pending, done")
    status_display = serializers.CharField()
    payment_share = serializers.CharField(help_text="percent of the contract paid at this milestone, as text")


class ProjectPaymentPlanSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    amount = serializers.CharField(**MONEY)
    due_date = serializers.DateField(allow_null=True)
    received_amount = serializers.CharField(**MONEY)
    received_date = serializers.DateField(allow_null=True)


class ProjectTaskSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    assignee = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    progress = serializers.IntegerField(help_text="percent, 0 to 100")
    status = serializers.CharField(help_text="as the project system names it: todo, doing, done")


class ProjectIssueSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField(help_text="as the project system names it")
    blocking = serializers.BooleanField()
    opened_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)


class ProjectDetailSerializer(ProjectSummarySerializer):
    """One project (presenters.project_payload). A customer's link sees progress, milestones and
    payments; the fields marked "staff only" (and source, sync_error_code) are left out for it."""

    source = serializers.CharField(required=False, help_text="staff only")
    sync_error_code = serializers.CharField(required=False, help_text="staff only: why its last read failed, or empty")
    planned_start = serializers.DateField(allow_null=True)
    actual_start = serializers.DateField(allow_null=True)
    actual_end = serializers.DateField(allow_null=True)
    deleted = serializers.BooleanField(help_text="deleted in the project system (staff still see the cached copy)")
    milestones = ProjectMilestoneSerializer(many=True)
    payment_plans = ProjectPaymentPlanSerializer(many=True)
    budget = serializers.CharField(required=False, help_text="staff only; " + MONEY["help_text"])
    actual_cost = serializers.CharField(required=False, help_text="staff only; " + MONEY["help_text"])
    owner_id = serializers.CharField(required=False, help_text="staff only")
    customer_id = serializers.CharField(required=False, help_text="staff only")
    remote_updated_at = serializers.DateTimeField(required=False, allow_null=True, help_text="staff only")
    content_hash = serializers.CharField(required=False, help_text="staff only")
    tasks = ProjectTaskSerializer(many=True, required=False, help_text="staff only")
    issues = ProjectIssueSerializer(many=True, required=False, help_text="staff only")
    stale = serializers.BooleanField(help_text="the project system failed and this is the cached copy")
    stale_reason = serializers.CharField(help_text="the project system's error code when stale, else empty")


class ProjectPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    records = ProjectSummarySerializer(many=True)


class CustomerLinkSerializer(serializers.Serializer):
    """A customer link (presenters.link_payload) as its revocation answers it: without its token."""

    id = serializers.IntegerField()
    project_id = serializers.CharField()
    state = serializers.ChoiceField(choices=LINK_STATES)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    qr_url = serializers.URLField(help_text="the link's QR code (SVG)")


class CustomerLinkCreatedSerializer(CustomerLinkSerializer):
    """A new customer link, with the token and page its customer opens."""

    token = serializers.CharField()
    url = serializers.URLField(help_text="the customer's page")


class LinkCheckSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    state = serializers.ChoiceField(
        choices=LINK_CHECK_STATES,
        help_text="other_project: a valid token, but of another project",
    )
    project_id = serializers.CharField(allow_null=True, help_text="null for an invalid token or another project")
    project_name = serializers.CharField(allow_null=True, help_text="only for a valid link")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="null for an invalid token or another project")


class ProjectSyncStartedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField(help_text="the scheduler run: GET /api/v1/scheduler/runs/{run_id}")
    status = serializers.CharField(help_text="the scheduler run's status")
    already_running = serializers.BooleanField(help_text="true: this is the run already under way (200)")


class ProjectSyncFailureSerializer(serializers.Serializer):
    source = serializers.CharField()
    remote_id = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ProjectChangeSerializer(serializers.Serializer):
    """One project a sync run changed (presenters.change_payload)."""

    project_id = serializers.CharField()
    source = serializers.CharField()
    kind = serializers.ChoiceField(choices=ProjectChange.Kind.choices)
    kind_display = serializers.CharField()
    diff = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()), help_text="field → [before, after]"
    )
    diff_display = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="the same, with status and type as their labels",
    )
    changed_at = serializers.DateTimeField()


class ProjectSyncRunSerializer(serializers.Serializer):
    """One project sync run (presenters.sync_run_payload) with its first changes."""

    id = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=ProjectSyncRun.Mode.choices)
    status = serializers.ChoiceField(choices=SyncRunStatus.choices)
    status_display = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    projects_total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    deleted = serializers.IntegerField()
    failed = serializers.IntegerField()
    failures = ProjectSyncFailureSerializer(many=True, help_text="the first ones kept")
    error_code = serializers.CharField()
    error = serializers.CharField()
    changes = ProjectChangeSerializer(many=True, help_text="the first `changes` (query parameter) of the run")
    changes_total = serializers.IntegerField()


class ProjectSyncRunPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    records = ProjectSyncRunSerializer(many=True)


class ProjectSyncSettingsSerializer(serializers.Serializer):
    """The project sync's settings (projects.config.sync_config)."""

    cron = serializers.CharField()
    cron_description = serializers.CharField()
    default_cron = serializers.CharField()
    enabled = serializers.BooleanField()
    next_run = serializers.DateTimeField(allow_null=True, help_text="null while disabled")
    project_types = serializers.ListField(child=serializers.CharField())
    sources = serializers.ListField(child=serializers.CharField(), help_text="empty: every source")
    available_sources = serializers.ListField(child=serializers.CharField())
    notify_status_change = serializers.BooleanField()
    notify_channels = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField()


class TimeDisplaySerializer(serializers.Serializer):
    """How the customer page shows times (projects.config.time_display)."""

    mode = serializers.ChoiceField(choices=ProjectSyncConfig.TimeDisplay.choices)
    format = serializers.CharField(help_text="the absolute format, one of `formats`")
    formats = serializers.ListField(child=serializers.CharField())


# Each answer in the seed's envelope, one component per shape: the same answer of two operations
# (GET and POST, 200 and 202) is one constant, so it is one component.
PROJECT_DETAIL = envelope_of(ProjectDetailSerializer, "ProjectDetailEnvelope")
PROJECT_PAGE = envelope_of(ProjectPageSerializer, "ProjectPageEnvelope")
LINK_CHECK = envelope_of(LinkCheckSerializer, "LinkCheckEnvelope")
LINK_CREATED = envelope_of(CustomerLinkCreatedSerializer, "CustomerLinkCreatedEnvelope")
LINK_REVOKED = envelope_of(CustomerLinkSerializer, "CustomerLinkRevokedEnvelope")
SYNC_STARTED = envelope_of(ProjectSyncStartedSerializer, "ProjectSyncStartedEnvelope")
SYNC_RUN_PAGE = envelope_of(ProjectSyncRunPageSerializer, "ProjectSyncRunPageEnvelope")
SYNC_SETTINGS = envelope_of(ProjectSyncSettingsSerializer, "ProjectSyncSettingsEnvelope")
TIME_DISPLAY = envelope_of(TimeDisplaySerializer, "TimeDisplayEnvelope")
