from django.urls import path

from projects import api, views

app_name = "projects"

urlpatterns = [
    # The customer's page (a customer link).
    path("p/<str:token>/", views.customer_page, name="customer-page"),
    path("p/<str:token>/refresh", views.customer_refresh, name="customer-refresh"),
    # People's pages: the day's duty tasks (their own; staff everyone's) and the staff dashboard.
    path("duty-tasks/", views.duty_tasks_page, name="duty-tasks"),
    path("duty-tasks/<int:task_id>/done", views.duty_task_done, name="duty-task-done"),
    path("projects/dashboard/", views.dashboard_page, name="dashboard"),
    # The seed's API paths; the fixed ones before /api/projects/<id>.
    path("api/projects/", api.ProjectListView.as_view(), name="project-list"),
    path("api/projects/sync", api.SyncStartView.as_view(), name="project-sync"),
    path("api/projects/sync-history", api.SyncHistoryView.as_view(), name="project-sync-history"),
    path("api/projects/links/<int:link_id>", api.LinkDetailView.as_view(), name="project-link"),
    path("api/projects/links/<int:link_id>/qr.svg", api.LinkQrView.as_view(), name="project-link-qr"),
    path("api/projects/<str:project_id>", api.ProjectDetailView.as_view(), name="project-detail"),
    path("api/projects/<str:project_id>/verify-access", api.VerifyAccessView.as_view(), name="project-verify-access"),
    path("api/projects/<str:project_id>/links", api.LinkCreateView.as_view(), name="project-links"),
    path("api/config/project-sync", api.ProjectSyncConfigView.as_view(), name="config-project-sync"),
    path("api/config/time-display", api.TimeDisplayConfigView.as_view(), name="config-time-display"),
]
