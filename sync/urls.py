from django.urls import path

from sync import api, views

urlpatterns = [
    path("sync/", views.sync_page, name="sync-page"),
    # Synced ERP documents (integrators).
    path("api/v1/erp/sales-orders/", api.document_list_view("sales_order"), name="erp-sales-orders"),
    path("api/v1/erp/purchase-orders/", api.document_list_view("purchase_order"), name="erp-purchase-orders"),
    path("api/v1/erp/purchase-arrivals/", api.document_list_view("purchase_arrival"), name="erp-purchase-arrivals"),
    path("api/v1/erp/receivables/", api.document_list_view("receivable"), name="erp-receivables"),
    path("api/v1/erp/material-stock/", api.document_list_view("material_stock"), name="erp-material-stock"),
    path("api/v1/erp/production-orders/", api.document_list_view("production_order"), name="erp-production-orders"),
    # Sync status and batches (staff); the seed's paths.
    path("api/v1/sync-status/list", api.SyncDayListView.as_view(), name="sync-status-list"),
    path("api/v1/sync-status/sync/date", api.SyncDateView.as_view(), name="sync-status-sync-date"),
    path("api/v1/sync-status/sync/batch", api.SyncBatchStartView.as_view(), name="sync-status-sync-batch"),
    path("api/v1/sync-status/batches", api.SyncBatchListView.as_view(), name="sync-batches"),
    path("api/v1/sync-status/batches/<int:batch_id>", api.SyncBatchDetailView.as_view(), name="sync-batch"),
    path(
        "api/v1/sync-status/batches/<int:batch_id>/cancel", api.SyncBatchCancelView.as_view(), name="sync-batch-cancel"
    ),
    path("api/v1/sync-status/batches/<int:batch_id>/retry", api.SyncBatchRetryView.as_view(), name="sync-batch-retry"),
]
