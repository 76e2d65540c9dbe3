from django.urls import path

from uploads import api, views

app_name = "uploads"

urlpatterns = [
    # Pages
    path("uploads/", views.upload_page, name="upload-page"),
    path("uploads/history/<str:business_id>/", views.history_page, name="history-page"),
    path("uploads/photos/<int:record_id>/", views.record_photo, name="record-photo"),
    # API (the seed's paths)
    path("api/upload", api.UploadView.as_view(), name="api-upload"),
    path("api/upload-links", api.UploadLinkView.as_view(), name="api-upload-links"),
    path("api/history/<str:business_id>", api.HistoryView.as_view(), name="api-history"),
    path("api/admin/records", api.AdminRecordsView.as_view(), name="api-admin-records"),
    path("api/admin/records/retry", api.AdminRetryView.as_view(), name="api-admin-retry"),
    path("api/admin/statistics", api.AdminStatisticsView.as_view(), name="api-admin-statistics"),
    path("api/admin/export", api.AdminExportView.as_view(), name="api-admin-export"),
]
