from django.urls import path

from erpjobs import views

urlpatterns = [
    path("reports/", views.reports_page, name="reports-page"),
    path("reports/<int:report_id>.xlsx", views.report_download, name="reports-download"),
]
