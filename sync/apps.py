from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Synced documents are written only by the sync itself: staff view them. Staff view and change
# days and batches (re-sync, cancel, retry); both are created by sync actions, never by hand.
_DOCUMENTS = (
    "salesorder",
    "purchaseorder",
    "purchasearrival",
    "receivable",
    "materialstock",
    "productionorder",
    "productionmaterialline",
    "outsourcingorder",
    "workreport",
    "engineeringchange",
    "equipmentmaintenanceplan",
    "quotation",
    "opportunity",
)
_RUNS = ("syncday", "syncbatch", "syncbatchday")


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("ERP 数据同步")
    group_permissions = {
        "staff": [f"view_{model}" for model in _DOCUMENTS + _RUNS] + [f"change_{model}" for model in _RUNS],
    }
