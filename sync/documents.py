"""Which ERP document types are synced, and how a remote record becomes a local row.

Each type is one `DocumentSpec`: the client's doc_type (a key of `yonyou.client.DOCUMENT_TYPES`),
the local model, the natural key it is upserted on, and a field mapping from the record's keys.
Adding a type is a model plus one declaration in `DOCUMENT_SPECS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from sync import models


class InvalidRecord(ValueError):
    """A remote record that cannot be mapped (a required key missing or malformed)."""


# --- Converters: remote JSON value → Python value for the model field -------------------------


def text(value: Any) -> str:
    return "" if value is None else str(value)


def erp_date(value: Any) -> date | None:
    """ERP dates come as "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"."""
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value)[:10])


def erp_datetime(value: Any) -> datetime | None:
    """ERP timestamps are the tenant's local time (China) without an offset."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.get_default_timezone())
    return moment


def money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidRecord(f"not an amount: {value!r}") from None


def quantity(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value)).quantize(Decimal("0.0001"))
    except InvalidOperation:
        raise InvalidRecord(f"not a quantity: {value!r}") from None


def integer(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


@dataclass(frozen=True)
class Source:
    """Where a model field's value comes from in the remote record."""

    key: str
    convert: Callable[[Any], Any] = text
    required: bool = False


@dataclass(frozen=True)
class DocumentSpec:
    doc_type: str
    model: type[models.SyncedDocument]
    natural_key: tuple[str, ...]
    fields: dict[str, Source]

    @property
    def update_fields(self) -> list[str]:
        return [name for name in self.fields if name not in self.natural_key] + ["synced_at"]

    def to_row(self, record: dict, *, synced_at: datetime) -> models.SyncedDocument:
        values = {}
        for name, source in self.fields.items():
            raw = record.get(source.key)
            if source.required and raw in (None, ""):
                raise InvalidRecord(f"{self.doc_type}: missing {source.key!r}")
            try:
                values[name] = source.convert(raw)
            except (TypeError, ValueError) as exc:
                raise InvalidRecord(f"{self.doc_type}: bad {source.key!r}: {exc}") from None
        return self.model(synced_at=synced_at, **values)

    def rows(self, records: Iterable[dict], *, synced_at: datetime) -> tuple[list, list[str]]:
        """Map records to unsaved rows, one per natural key (the last wins), and the errors."""
        by_key: dict[tuple, models.SyncedDocument] = {}
        errors: list[str] = []
        for record in records:
            try:
                row = self.to_row(record, synced_at=synced_at)
            except InvalidRecord as exc:
                errors.append(str(exc))
                continue
            by_key[tuple(getattr(row, name) for name in self.natural_key)] = row
        return list(by_key.values()), errors

    def upsert(self, rows: list[models.SyncedDocument], *, batch_size: int) -> int:
        """Insert new documents and update changed ones by natural key; never duplicates."""
        if not rows:
            return 0
        self.model.objects.bulk_create(
            rows,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=list(self.natural_key),
            update_fields=self.update_fields,
        )
        return len(rows)


SALES_ORDERS = DocumentSpec(
    doc_type="sales_order",
    model=models.SalesOrder,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "customer_id": Source("agentId"),
        "customer_name": Source("agentId_name"),
        "amount": Source("totalMoney", money),
        "currency": Source("currency"),
        "status": Source("status", integer),
        "status_name": Source("statusName"),
        "delivery_date": Source("hopeReceiveDate", erp_date),
        "pubts": Source("pubts", erp_datetime),
    },
)

PURCHASE_ORDERS = DocumentSpec(
    doc_type="purchase_order",
    model=models.PurchaseOrder,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "vendor_id": Source("vendor"),
        "vendor_name": Source("vendor_name"),
        "product_code": Source("product_cCode"),
        "product_name": Source("product_cName"),
        "quantity": Source("qty", quantity),
        "amount": Source("natMoney", money),
        "currency": Source("currency"),
        "status": Source("status", integer),
        "status_name": Source("statusName"),
        "arrival_date": Source("arrivalDate", erp_date),
        "pubts": Source("pubts", erp_datetime),
    },
)

PURCHASE_ARRIVALS = DocumentSpec(
    doc_type="purchase_arrival",
    model=models.PurchaseArrival,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "vendor_id": Source("vendor"),
        "vendor_name": Source("vendor_name"),
        "source_order_code": Source("srcBillNO"),
        "product_code": Source("product_cCode"),
        "quantity": Source("qty", quantity),
        "pubts": Source("pubts", erp_datetime),
    },
)

RECEIVABLES = DocumentSpec(
    doc_type="receivable",
    model=models.Receivable,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "customer_id": Source("customer"),
        "customer_name": Source("customer_name"),
        "amount": Source("oriSum", money),
        "balance": Source("balance", money),
        "due_date": Source("dueDate", erp_date),
        "pubts": Source("pubts", erp_datetime),
    },
)

MATERIAL_STOCK = DocumentSpec(
    doc_type="material_stock",
    model=models.MaterialStock,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "warehouse_name": Source("warehouse_name"),
        "product_code": Source("product_cCode"),
        "product_name": Source("product_cName"),
        "current_quantity": Source("currentqty", quantity),
        "safety_quantity": Source("safetyqty", quantity),
        "pubts": Source("pubts", erp_datetime),
    },
)

PRODUCTION_ORDERS = DocumentSpec(
    doc_type="production_order",
    model=models.ProductionOrder,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "product_code": Source("product_cCode"),
        "product_name": Source("product_cName"),
        "quantity": Source("qty", quantity),
        "finished_quantity": Source("finishedQty", quantity),
        "start_date": Source("startDate", erp_date),
        "finish_date": Source("finishDate", erp_date),
        "status": Source("status", integer),
        "status_name": Source("statusName"),
        "pubts": Source("pubts", erp_datetime),
    },
)

# Synced in this order for every business day.
DOCUMENT_SPECS: tuple[DocumentSpec, ...] = (
    SALES_ORDERS,
    PURCHASE_ORDERS,
    PURCHASE_ARRIVALS,
    RECEIVABLES,
    MATERIAL_STOCK,
    PRODUCTION_ORDERS,
)


def spec_for(doc_type: str) -> DocumentSpec:
    for spec in DOCUMENT_SPECS:
        if spec.doc_type == doc_type:
            return spec
    raise KeyError(doc_type)
