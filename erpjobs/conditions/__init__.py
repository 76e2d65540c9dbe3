"""The set-based queries of the ERP business jobs: each reads the synced tables a fixed number of
times (one SELECT per table, however many rows) and returns the `Firing` of every key for which its
rule holds. Split by what they watch: materials, the shop floor, customers.

They read the `sync` app's document tables as synced; which Yonyou fields those come from (and
which are assumed) is declared in `sync/documents.py` and `yonyou/client.py`.
"""

from erpjobs.conditions.customers import overdue_receivables, sales_reminders
from erpjobs.conditions.materials import (
    OrderKit,
    kit_shortfalls,
    late_deliveries,
    order_kits,
    shortages,
    specification_mismatches,
)
from erpjobs.conditions.shop_floor import (
    maintenance_due,
    outsourcing_due,
    overdue_engineering_changes,
    production_behind_plan,
    silent_production_orders,
)

__all__ = [
    "OrderKit",
    "kit_shortfalls",
    "late_deliveries",
    "maintenance_due",
    "order_kits",
    "outsourcing_due",
    "overdue_engineering_changes",
    "overdue_receivables",
    "production_behind_plan",
    "sales_reminders",
    "shortages",
    "silent_production_orders",
    "specification_mismatches",
]
