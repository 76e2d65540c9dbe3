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
from functools import cached_property, partial
from typing import Any

from django.db import connections, router
from django.db.models import CharField, DecimalField, IntegerField
from django.utils import timezone

from sync import models


class InvalidRecord(ValueError):
    """A remote record that cannot be mapped (a required key missing or malformed, or a value
    that does not fit its column)."""


# PostgreSQL's `integer`; SQLite would store more, so both are held to the smaller range.
INTEGER_RANGE = (-(2**31), 2**31 - 1)


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

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Model columns written by an upsert: the mapped fields, then `synced_at`."""
        return (*self.fields, "synced_at")

    @cached_property
    def _model_fields(self) -> list:
        return [self.model._meta.get_field(name) for name in self.fields]

    def to_values(self, record: dict) -> list:
        """The Python values of one remote record, in `fields` order.

        Every value must fit its column as declared: PostgreSQL refuses (or, through a cast,
        silently truncates) what SQLite would keep whole, so both databases get only values that
        fit, and a record that does not is refused here, on its own, with the reason.
        """
        values = []
        for source, model_field in zip(self.fields.values(), self._model_fields, strict=True):
            raw = record.get(source.key)
            if source.required and raw in (None, ""):
                raise InvalidRecord(f"{self._name(record)}: missing {source.key!r}")
            try:
                value = source.convert(raw)
            except (TypeError, ValueError) as exc:
                raise InvalidRecord(f"{self._name(record)}: bad {source.key!r}: {exc}") from None
            problem = _does_not_fit(model_field, value)
            if problem:
                raise InvalidRecord(f"{self._name(record)}: {source.key!r} {problem}")
            values.append(value)
        return values

    def _name(self, record: dict) -> str:
        """The record as staff find it in the ERP: its type and code (or id), shortened."""
        label = str(record.get("code") or record.get("id") or "?")
        return f"{self.doc_type} {label[:80]}{'…' if len(label) > 80 else ''}"

    def rows(self, records: Iterable[dict]) -> tuple[list[tuple], list[str]]:
        """Map records to value tuples (`fields` order), one per natural key (the last wins),
        and the reasons of the records that could not be mapped."""
        key_positions = [self.columns.index(name) for name in self.natural_key]
        by_key: dict[tuple, tuple] = {}
        errors: list[str] = []
        for record in records:
            try:
                values = self.to_values(record)
            except InvalidRecord as exc:
                errors.append(str(exc))
                continue
            by_key[tuple(values[i] for i in key_positions)] = tuple(values)
        return list(by_key.values()), errors

    def upsert(self, rows: list[tuple], *, synced_at: datetime, batch_size: int) -> int:
        """Insert new documents and update changed ones by natural key; never duplicates.

        This is what `bulk_create(update_conflicts=True, unique_fields=natural_key)` does, minus
        its cost: building a model instance and compiling SQL per row took longer than all the
        rest of a sync together (see docs/benchmarks.md). Values still go through each field's
        own database preparation. SQLite runs one prepared statement per row with executemany
        (a loop in C); PostgreSQL gets `batch_size` rows per statement as one array per column
        (its driver would otherwise send one statement per row).
        """
        if not rows:
            return 0
        connection = connections[router.db_for_write(self.model)]
        statement = self._statement(connection)
        *field_adapters, stamp_adapter = statement.adapters
        stamp = stamp_adapter(synced_at)  # the same for every row: prepared once
        rows = [(*(v if a is None else a(v) for a, v in zip(field_adapters, row, strict=True)), stamp) for row in rows]
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for start in range(0, len(rows), batch_size):
                    cursor.executemany(statement.sql, rows[start : start + batch_size])
            else:
                for start in range(0, len(rows), batch_size):
                    chunk = rows[start : start + batch_size]
                    cursor.execute(statement.unnest_sql, [list(column) for column in zip(*chunk, strict=True)])
        return len(rows)

    def _statement(self, connection) -> _UpsertStatement:
        cache = self.__dict__.setdefault("_statements", {})
        if connection.alias not in cache:
            cache[connection.alias] = _UpsertStatement(self, connection)
        return cache[connection.alias]


def _does_not_fit(model_field, value) -> str:
    """Why `value` does not fit the column of `model_field`, or "" when it does."""
    if value is None:
        return ""
    if isinstance(model_field, CharField) and model_field.max_length and len(value) > model_field.max_length:
        return f"is {len(value)} characters long, the column holds {model_field.max_length}"
    if isinstance(model_field, DecimalField):
        whole_digits = model_field.max_digits - model_field.decimal_places
        if value.is_finite() and value.adjusted() >= whole_digits:
            return f"{value} has more than {whole_digits} digits before the point"
        if not value.is_finite():
            return f"{value} is not a finite number"
    if isinstance(model_field, IntegerField) and not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
        return f"{value} is outside the integer column's range"
    return ""


class _UpsertStatement:
    """`INSERT … VALUES … ON CONFLICT (natural key) DO UPDATE` for one spec on one connection,
    and per column the field's value preparation (None where the driver takes the value as is)."""

    PREPARED_TYPES = ("DateField", "DateTimeField", "DecimalField")

    def __init__(self, spec: DocumentSpec, connection):
        meta = spec.model._meta
        quote = connection.ops.quote_name
        fields = [meta.get_field(name) for name in spec.columns]
        columns = [quote(field.column) for field in fields]
        key_columns = [quote(meta.get_field(name).column) for name in spec.natural_key]
        updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in key_columns)
        # Only quoted identifiers from the model's own metadata are interpolated; values are
        # always parameters.
        head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)})"
        tail = f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}"
        self.sql = f"{head} VALUES ({', '.join(['%s'] * len(columns))}){tail}"
        # PostgreSQL: one array parameter per column, so the statement text stays short however
        # many rows it carries. Text arrays are cast without a length: `varchar(64)[]` would
        # truncate a longer value silently, where the column itself refuses it.
        arrays = ", ".join(f"%s::{_array_type(field, connection)}[]" for field in fields)
        self.unnest_sql = f"{head} SELECT * FROM unnest({arrays}){tail}"  # noqa: S608
        self.adapters = [
            partial(field.get_db_prep_save, connection=connection)
            if field.get_internal_type() in self.PREPARED_TYPES
            else None
            for field in fields
        ]


def _array_type(model_field, connection) -> str:
    if isinstance(model_field, CharField):
        return "varchar"
    return model_field.db_type(connection)


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
        # Assumed: the first line's material and quantity, flattened onto the list record.
        "product_code": Source("product_cCode"),
        "quantity": Source("qty", quantity),
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
        # Assumed: the material's specification (规格型号) as YonBIP names it on product refs.
        "specification": Source("product_modelDescription"),
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

# Assumed: YonBIP's production order "material list" (生产订单用料/备料) as a list API of lines,
# one record per line with the order's code; the path is `yonyou.client.DOCUMENT_TYPES`.
PRODUCTION_MATERIAL_LINES = DocumentSpec(
    doc_type="production_material",
    model=models.ProductionMaterialLine,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "order_code": Source("orderCode"),
        "line_number": Source("lineNo", integer),
        "product_code": Source("product_cCode"),
        "product_name": Source("product_cName"),
        "specification": Source("product_modelDescription"),
        "required_quantity": Source("requiredQty", quantity),
        "issued_quantity": Source("issuedQty", quantity),
        "required_date": Source("requireDate", erp_date),
        "pubts": Source("pubts", erp_datetime),
    },
)

# Assumed: YonBIP's outsourcing order list (委外订单), one record per order line.
OUTSOURCING_ORDERS = DocumentSpec(
    doc_type="outsourcing_order",
    model=models.OutsourcingOrder,
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
        "received_quantity": Source("receivedQty", quantity),
        "due_date": Source("deliveryDate", erp_date),
        "status": Source("status", integer),
        "status_name": Source("statusName"),
        "pubts": Source("pubts", erp_datetime),
    },
)

# Assumed: YonBIP's work report list (报工单), one record per report with its order's code.
WORK_REPORTS = DocumentSpec(
    doc_type="work_report",
    model=models.WorkReport,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "order_code": Source("orderCode"),
        "reported_at": Source("reportTime", erp_datetime),
        "quantity": Source("qty", quantity),
        "operator_name": Source("operator_name"),
        "pubts": Source("pubts", erp_datetime),
    },
)

# Assumed: an ECN list (工程变更单) with its stage and the two deadlines.
ENGINEERING_CHANGES = DocumentSpec(
    doc_type="engineering_change",
    model=models.EngineeringChange,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "title": Source("subject"),
        "product_code": Source("product_cCode"),
        "stage": Source("stage", integer),
        "approval_deadline": Source("approveDeadline", erp_date),
        "implementation_deadline": Source("implementDeadline", erp_date),
        "owner_name": Source("owner_name"),
        "pubts": Source("pubts", erp_datetime),
    },
)

# Assumed: the equipment module's maintenance plan list (设备保养计划).
EQUIPMENT_MAINTENANCE_PLANS = DocumentSpec(
    doc_type="equipment_maintenance",
    model=models.EquipmentMaintenancePlan,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "equipment_code": Source("equipCode"),
        "equipment_name": Source("equipName"),
        "workshop": Source("workshop_name"),
        "next_maintenance_date": Source("nextMaintainDate", erp_date),
        "owner_name": Source("owner_name"),
        "pubts": Source("pubts", erp_datetime),
    },
)


def flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "y")


# Assumed: the sales quotation list (报价单).
QUOTATIONS = DocumentSpec(
    doc_type="quotation",
    model=models.Quotation,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "customer_name": Source("agentId_name"),
        "amount": Source("totalMoney", money),
        "valid_until": Source("validDate", erp_date),
        "status": Source("status", integer),
        "owner_name": Source("operator_name"),
        "pubts": Source("pubts", erp_datetime),
    },
)

# Assumed: the CRM opportunity list (商机), with its stage and last follow-up.
OPPORTUNITIES = DocumentSpec(
    doc_type="opportunity",
    model=models.Opportunity,
    natural_key=("code",),
    fields={
        "remote_id": Source("id", required=True),
        "code": Source("code", required=True),
        "business_date": Source("vouchdate", erp_date, required=True),
        "title": Source("name"),
        "customer_name": Source("customer_name"),
        "stage": Source("stage_name"),
        "closed": Source("isClosed", flag),
        "last_follow_up": Source("lastFollowDate", erp_date),
        "owner_name": Source("owner_name"),
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
    PRODUCTION_MATERIAL_LINES,
    OUTSOURCING_ORDERS,
    WORK_REPORTS,
    ENGINEERING_CHANGES,
    EQUIPMENT_MAINTENANCE_PLANS,
    QUOTATIONS,
    OPPORTUNITIES,
)


def spec_for(doc_type: str) -> DocumentSpec:
    for spec in DOCUMENT_SPECS:
        if spec.doc_type == doc_type:
            return spec
    raise KeyError(doc_type)
