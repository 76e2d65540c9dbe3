from django.urls import path

from alerts import api, notifications_api, views
from alerts.alerting import api as alerting_api
from alerts.alerting import views as alerting_views

urlpatterns = [
    path("scheduler/", views.scheduler_page, name="scheduler"),
    path("scheduler/jobs/<str:job_id>/schedule", views.edit_job_schedule, name="scheduler-job-schedule"),
    path("alerts/", alerting_views.alerts_page, name="alerts-page"),
    path("alerts/<int:alert_id>/acknowledge", alerting_views.acknowledge, name="alerts-acknowledge"),
    path("alerts/<int:alert_id>/resolve", alerting_views.resolve, name="alerts-resolve"),
    path("alerts/silence", alerting_views.silence, name="alerts-silence"),
    path("api/v1/alerts/", alerting_api.AlertListView.as_view(), name="alerts-list"),
    path("api/v1/alerts/silences", alerting_api.SilenceListView.as_view(), name="alerts-silences"),
    path(
        "api/v1/alerts/silences/<int:silence_id>",
        alerting_api.SilenceDetailView.as_view(),
        name="alerts-silence-detail",
    ),
    path("api/v1/alerts/<int:alert_id>", alerting_api.AlertDetailView.as_view(), name="alerts-detail"),
    path("api/v1/alerts/<int:alert_id>/acknowledge", alerting_api.AcknowledgeView.as_view(), name="alerts-ack"),
    path("api/v1/alerts/<int:alert_id>/resolve", alerting_api.ResolveView.as_view(), name="alerts-resolve-api"),
    # For Prometheus scrapers: bearer token, not a user session (see METRICS_BEARER_TOKEN).
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/scheduler/status", api.SchedulerStatusView.as_view(), name="scheduler-status"),
    path("api/v1/scheduler/jobs", api.JobListView.as_view(), name="scheduler-jobs"),
    path("api/v1/scheduler/cron-preview", api.CronPreviewView.as_view(), name="scheduler-cron-preview"),
    path("api/v1/scheduler/jobs/<str:job_id>", api.JobDetailView.as_view(), name="scheduler-job"),
    path("api/v1/scheduler/jobs/<str:job_id>/trigger", api.JobTriggerView.as_view(), name="scheduler-job-trigger"),
    path("api/v1/scheduler/jobs/<str:job_id>/runs", api.JobRunListView.as_view(), name="scheduler-job-runs"),
    path("api/v1/scheduler/runs/<int:run_id>", api.JobRunDetailView.as_view(), name="scheduler-run"),
    path("api/v1/scheduler/metrics", api.MetricsView.as_view(), name="scheduler-metrics"),
    path(
        "api/v1/scheduler/metrics/prometheus",
        api.PrometheusMetricsView.as_view(),
        name="scheduler-metrics-prometheus",
    ),
    path("api/v1/scheduler/services/list", api.ServiceListView.as_view(), name="scheduler-services"),
    path("api/v1/notifications/", notifications_api.NotificationListView.as_view(), name="notifications"),
]
