"""Deterministic ERP documents for the sandbox's list APIs.

The same business day always yields the same documents with the same codes (so a re-sync upserts
rather than duplicates). `mutate_rate` picks a stable fraction of them and serves a revised
version (other amount, status and `pubts`), so tests can prove that updates are applied.

Fields per document type (the record dicts the list APIs return in `recordList`). They follow
YonBIP's list APIs where known; the non-sales types are assumed shapes.

- sales_order: id, code, vouchdate, agentId, agentId_name, salesOrgId, totalMoney, currency,
  status (0 开立, 1 已审核, 2 已关闭), statusName, hopeReceiveDate, pubts; assumed: product_cCode,
  qty (the first line, flattened; every third order is of M-4010, which nothing makes or stocks)
- purchase_order: id, code, vouchdate, vendor, vendor_name, product_cCode, product_cName,
  product_modelDescription (specification, assumed; every seventh order another one), qty, natMoney,
  currency, status, statusName, arrivalDate (planned; every tenth order urgent, due the day it is
  placed), pubts
- purchase_arrival: id, code, vouchdate, vendor, vendor_name, srcBillNO (the purchase order
  code), product_cCode, qty, pubts
- receivable: id, code, vouchdate, customer, customer_name, oriSum (amount), balance (unpaid),
  dueDate (30 days on; every fifth an opening balance due 10, 45, 75 or 120 days before), pubts
- material_stock: id, code (warehouse + material), vouchdate (snapshot day), warehouse_name,
  product_cCode, product_cName, currentqty, safetyqty, pubts
- production_order: id, code, vouchdate, product_cCode, product_cName, qty, finishedQty,
  startDate, finishDate (planned), status, statusName, pubts
- production_material (assumed): id, code, vouchdate, orderCode (the production order of the same
  day: lines 1–2 belong to order 1, 3–4 to order 2, …), lineNo, product_cCode, product_cName,
  product_modelDescription (specification), requiredQty, issuedQty, requireDate (the order's start);
  every fifth line needs M-4010, which nothing stocks or buys (the kit check's cases)
- outsourcing_order (assumed): id, code, vouchdate, vendor, vendor_name, product_cCode,
  product_cName, qty, receivedQty (every fourth order received in full), deliveryDate, status,
  statusName
- work_report (assumed): id, code, vouchdate, orderCode (the production order of the same day and
  index; only odd-numbered orders are reported on), reportTime, qty, operator_name
- engineering_change (assumed): id, code, vouchdate, subject, product_cCode, stage (0 待审批,
  1 待实施, 2 已完成), approveDeadline, implementDeadline, owner_name
- equipment_maintenance (assumed): id, code, vouchdate, equipCode, equipName, workshop_name,
  nextMaintainDate (from 5 days before to 25 days after the business day), owner_name
- quotation (assumed): id, code, vouchdate, agentId_name, totalMoney, validDate, status (0 开立,
  1 已转订单, 2 已关闭), operator_name
- opportunity (assumed): id, code, vouchdate, name, customer_name, stage_name, isClosed,
  lastFollowDate, owner_name
"""

import hashlib
from datetime import date, datetime, timedelta

DOC_PREFIX = {
    "sales_order": "SO",
    "purchase_order": "PO",
    "purchase_arrival": "PA",
    "receivable": "AR",
    "material_stock": "ST",
    "production_order": "MO",
    "production_material": "ML",
    "outsourcing_order": "OS",
    "work_report": "WR",
    "engineering_change": "EC",
    "equipment_maintenance": "EM",
    "quotation": "QT",
    "opportunity": "OP",
}
CUSTOMERS = [
    "华东精密机械有限公司",
    "北京云帆科技有限公司",
    "深圳海川电子股份公司",
    "成都蜀光建材有限公司",
    "武汉长江物流集团",
]
VENDORS = ["苏州恒达钢材有限公司", "宁波联合塑胶厂", "天津北方电缆有限公司", "佛山南星五金制品厂"]
PRODUCTS = [
    ("M-1001", "冷轧钢板 1.5mm"),
    ("M-1002", "铝型材 6063"),
    ("M-2001", "控制柜外壳"),
    ("M-3005", "伺服电机 750W"),
]
SCARCE_COMPONENT = ("M-4010", "接近开关")
SPECIFICATIONS = {
    "M-1001": "1.5mm×1250",
    "M-1002": "6063-T5",
    "M-2001": "800×600×300",
    "M-3005": "750W 220V",
    "M-4010": "NPN 12-24V",
}
OTHER_SPECIFICATIONS = {
    "M-1001": "1.2mm×1250",
    "M-1002": "6061-T6",
    "M-2001": "800×600×250",
    "M-3005": "400W 220V",
    "M-4010": "PNP 12-24V",
}
EQUIPMENT = ["数控折弯机", "激光切割机", "喷涂线", "装配线"]
WORKSHOPS = ["钣金车间", "装配车间"]
OPERATORS = ["王建国", "李秀英", "张伟", "刘洋"]
STATUS_NAMES = {0: "开立", 1: "已审核", 2: "已关闭"}
WAREHOUSES = ["一号仓", "二号仓", "成品仓"]


def _unit(*parts) -> float:
    """A stable pseudo-random number in [0, 1) from the given parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(options, *parts):
    return options[int(_unit(*parts) * len(options))]


def _stamp(day: date, *parts, hours=(8, 18)) -> str:
    minute = int(_unit("t", *parts) * (hours[1] - hours[0]) * 60)
    return (datetime.combine(day, datetime.min.time()) + timedelta(hours=hours[0], minutes=minute)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def _planned_arrival(day: date, index: int, code: str) -> date:
    """5 to 29 days after the order; every tenth order (index 3, 13, …) is urgent, due the day it
    is placed: the late deliveries a sync of the last few days shows the next morning."""
    if index % 10 == 3:
        return day
    return day + timedelta(days=5 + int(_unit("arr", code) * 25))


# Days before the business day on which the opening receivables (期初应收, entered on that day with
# their original due dates) fell due: one per ageing bucket of the overdue receivables job.
OPENING_RECEIVABLE_AGES = (10, 45, 75, 120)


def _receivable_due(day: date, index: int) -> date:
    """30 days after the invoice; every fifth receivable is an opening balance already overdue, so
    a sync of any few days holds overdue receivables in every ageing bucket."""
    if index % 5 == 0:
        return day - timedelta(days=OPENING_RECEIVABLE_AGES[(index // 5) % len(OPENING_RECEIVABLE_AGES)])
    return day + timedelta(days=30)


def is_mutated(doc_type: str, code: str, mutate_rate: float) -> bool:
    return mutate_rate > 0 and _unit("mutate", doc_type, code) < mutate_rate


def document(doc_type: str, day: date, index: int, mutate_rate: float = 0.0, oversized: bool = False) -> dict:  # noqa: PLR0911
    """The `index`-th (1-based) document of `doc_type` on `day`; `oversized` gives it a 70-character
    code whose first 64 characters it shares with every other oversized code of the day."""
    code = f"{DOC_PREFIX[doc_type]}{day:%Y%m%d}-{index:05d}"
    if oversized:
        code = f"{DOC_PREFIX[doc_type]}{day:%Y%m%d}-".ljust(64, "X") + f"{index:06d}"
    remote_id = str(1_800_000_000_000_000_000 + int(f"{day:%Y%m%d}") * 100_000 + index)
    mutated = is_mutated(doc_type, code, mutate_rate)
    revision = 1 if mutated else 0
    vouchdate = f"{day:%Y-%m-%d} 00:00:00"
    pubts = _stamp(day, code, revision, hours=(18, 23) if mutated else (8, 18))
    amount = round(1000 + _unit("amount", code) * 99_000, 2) * (1.1 if mutated else 1)
    base = {"id": remote_id, "code": code, "vouchdate": vouchdate, "pubts": pubts}
    if doc_type == "sales_order":
        status = 2 if mutated else int(_unit("status", code) * 2)
        return base | {
            "agentId": str(2000 + int(_unit("cust", code) * len(CUSTOMERS))),
            "agentId_name": _pick(CUSTOMERS, "cust", code),
            "salesOrgId": "1001",
            "totalMoney": round(amount, 2),
            "currency": "CNY",
            "status": status,
            "statusName": STATUS_NAMES[status],
            "hopeReceiveDate": f"{day + timedelta(days=3 + int(_unit('due', code) * 20)):%Y-%m-%d} 00:00:00",
            "product_cCode": SCARCE_COMPONENT[0] if index % 3 == 0 else _pick(PRODUCTS, "prod", code)[0],
            "qty": 5 + int(_unit("soqty", code) * 50),
        }
    product_code, product_name = _pick(PRODUCTS, "prod", code)
    qty = 10 + int(_unit("qty", code) * 490)
    if doc_type == "purchase_order":
        status = 2 if mutated else int(_unit("status", code) * 2)
        return base | {
            "vendor": str(3000 + int(_unit("vendor", code) * len(VENDORS))),
            "vendor_name": _pick(VENDORS, "vendor", code),
            "product_cCode": product_code,
            "product_cName": product_name,
            # Every seventh order was bought to another specification (the spec check's cases).
            "product_modelDescription": (OTHER_SPECIFICATIONS if index % 7 == 0 else SPECIFICATIONS)[product_code],
            "qty": qty,
            "natMoney": round(amount, 2),
            "currency": "CNY",
            "status": status,
            "statusName": STATUS_NAMES[status],
            "arrivalDate": f"{_planned_arrival(day, index, code):%Y-%m-%d} 00:00:00",
        }
    if doc_type == "purchase_arrival":
        return base | {
            "vendor": str(3000 + int(_unit("vendor", code) * len(VENDORS))),
            "vendor_name": _pick(VENDORS, "vendor", code),
            "srcBillNO": f"PO{day - timedelta(days=7):%Y%m%d}-{index:05d}",
            "product_cCode": product_code,
            "qty": qty - (5 if mutated else 0),
        }
    if doc_type == "receivable":
        paid = _unit("paid", code, revision)
        return base | {
            "customer": str(2000 + int(_unit("cust", code) * len(CUSTOMERS))),
            "customer_name": _pick(CUSTOMERS, "cust", code),
            "oriSum": round(amount, 2),
            "balance": round(amount * (1 - paid), 2),
            "dueDate": f"{_receivable_due(day, index):%Y-%m-%d} 00:00:00",
        }
    if doc_type == "material_stock":
        return base | {
            "warehouse_name": _pick(WAREHOUSES, "wh", code),
            "product_cCode": product_code,
            "product_cName": product_name,
            "currentqty": qty - (50 if mutated else 0),
            "safetyqty": 100,
        }
    if doc_type == "production_order":
        status = 2 if mutated else int(_unit("status", code) * 2)
        return base | {
            "product_cCode": product_code,
            "product_cName": product_name,
            "qty": qty,
            "finishedQty": int(qty * _unit("done", code, revision)),
            "startDate": f"{day:%Y-%m-%d} 00:00:00",
            "finishDate": f"{day + timedelta(days=7 + int(_unit('fin', code) * 14)):%Y-%m-%d} 00:00:00",
            "status": status,
            "statusName": STATUS_NAMES[status],
        }
    if doc_type in ASSUMED_MANUFACTURING_TYPES:
        fields = ASSUMED_MANUFACTURING_TYPES[doc_type](
            code=code,
            day=day,
            index=index,
            revision=revision,
            product_code=product_code,
            product_name=product_name,
            qty=qty,
            mutated=mutated,
        )
        return base | fields
    raise KeyError(doc_type)


def _outsourcing_order_fields(
    *, code: str, day: date, index: int, revision: int, product_code: str, product_name: str, qty: int, mutated: bool
) -> dict:
    status = 2 if mutated else int(_unit("status", code) * 2)
    return {
        "vendor": str(3000 + int(_unit("vendor", code) * len(VENDORS))),
        "vendor_name": _pick(VENDORS, "vendor", code),
        "product_cCode": product_code,
        "product_cName": product_name,
        "qty": qty,
        "receivedQty": qty if index % 4 == 0 else int(qty * _unit("received", code) * 0.8),
        "deliveryDate": f"{day + timedelta(days=2 + int(_unit('osdue', code) * 12)):%Y-%m-%d} 00:00:00",
        "status": status,
        "statusName": STATUS_NAMES[status],
    }


def _engineering_change_fields(
    *, code: str, day: date, index: int, revision: int, product_code: str, product_name: str, qty: int, mutated: bool
) -> dict:
    return {
        "subject": f"{product_name} 设计变更",
        "product_cCode": product_code,
        "stage": int(_unit("stage", code, revision) * 3),
        "approveDeadline": f"{day + timedelta(days=2 + int(_unit('approve', code) * 5)):%Y-%m-%d}",
        "implementDeadline": f"{day + timedelta(days=10 + int(_unit('implement', code) * 20)):%Y-%m-%d}",
        "owner_name": _pick(OPERATORS, "owner", code),
    }


def _equipment_maintenance_fields(
    *, code: str, day: date, index: int, revision: int, product_code: str, product_name: str, qty: int, mutated: bool
) -> dict:
    return {
        "equipCode": f"EQ-{index:04d}",
        "equipName": _pick(EQUIPMENT, "equip", code),
        "workshop_name": _pick(WORKSHOPS, "workshop", code),
        "nextMaintainDate": f"{day + timedelta(days=int(_unit('maintain', code) * 30) - 5):%Y-%m-%d}",
        "owner_name": _pick(OPERATORS, "owner", code),
    }


def _work_report_fields(
    *, code: str, day: date, index: int, revision: int, product_code: str, product_name: str, qty: int, mutated: bool
) -> dict:
    return {
        "orderCode": f"MO{day:%Y%m%d}-{index - (index + 1) % 2:05d}",
        "reportTime": _stamp(day, "report", code),
        "qty": 1 + int(_unit("reported", code) * 20),
        "operator_name": _pick(OPERATORS, "operator", code),
    }


def _production_material_fields(
    *, code: str, day: date, index: int, revision: int, product_code: str, product_name: str, qty: int, mutated: bool
) -> dict:
    required = 20 + int(_unit("need", code) * 180)
    if index % 5 == 0:
        # A component no warehouse stocks and no purchase order brings: its orders are not kitted.
        product_code, product_name = SCARCE_COMPONENT
    return {
        "orderCode": f"MO{day:%Y%m%d}-{(index - 1) // 2 + 1:05d}",
        "lineNo": (index - 1) % 2 + 1,
        "product_cCode": product_code,
        "product_cName": product_name,
        "product_modelDescription": SPECIFICATIONS[product_code],
        "requiredQty": required,
        "issuedQty": int(required * _unit("issued", code, revision) * 0.5),
        "requireDate": f"{day:%Y-%m-%d} 00:00:00",
    }


def _quotation_fields(*, code: str, day: date, index: int, revision: int, **_) -> dict:
    status = int(_unit("qstatus", code, revision) * 3)
    return {
        "agentId_name": _pick(CUSTOMERS, "cust", code),
        "totalMoney": round(1000 + _unit("qamount", code) * 50_000, 2),
        "validDate": f"{day + timedelta(days=int(_unit('valid', code) * 20)):%Y-%m-%d}",
        "status": status,
        "operator_name": _pick(OPERATORS, "owner", code),
    }


def _opportunity_fields(*, code: str, day: date, index: int, revision: int, **_) -> dict:
    closed = index % 4 == 0
    return {
        "name": f"{_pick(CUSTOMERS, 'cust', code)} 年度采购",
        "customer_name": _pick(CUSTOMERS, "cust", code),
        "stage_name": "赢单" if closed else _pick(["初步接洽", "需求确认", "方案报价", "商务谈判"], "stage", code),
        "isClosed": closed,
        "lastFollowDate": f"{day - timedelta(days=int(_unit('follow', code, revision) * 20)):%Y-%m-%d}",
        "owner_name": _pick(OPERATORS, "owner", code),
    }


# The manufacturing and CRM document types whose shapes are assumed (not in the published API docs).
ASSUMED_MANUFACTURING_TYPES = {
    "quotation": _quotation_fields,
    "opportunity": _opportunity_fields,
    "outsourcing_order": _outsourcing_order_fields,
    "engineering_change": _engineering_change_fields,
    "equipment_maintenance": _equipment_maintenance_fields,
    "work_report": _work_report_fields,
    "production_material": _production_material_fields,
}


def page(
    doc_type: str,
    day: date,
    *,
    page_index: int,
    page_size: int,
    per_day: int,
    mutate_rate: float,
    oversized_codes: frozenset[int] = frozenset(),
) -> dict:
    """A list API's `data`: {pageIndex, pageSize, recordCount, pageCount, recordList}; the
    documents whose index is in `oversized_codes` carry codes too long for a 64-character column."""
    page_count = max(1, -(-per_day // page_size))
    first = (page_index - 1) * page_size + 1
    last = min(per_day, page_index * page_size)
    records = [document(doc_type, day, i, mutate_rate, i in oversized_codes) for i in range(first, last + 1)]
    return {
        "pageIndex": page_index,
        "pageSize": page_size,
        "recordCount": per_day,
        "pageCount": page_count,
        "recordList": records,
    }
