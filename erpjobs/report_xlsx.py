"""A stored daily report as an xlsx: one sheet per section of its content, with the house habits
(column widths, a frozen header row, a filter, text never run as a formula)."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from config.spreadsheets import discard_write_only_temp, text_cell
from erpjobs.models import DailyReport


def _number(value):
    """Stored quantities and rates are strings ("190", "84.2"): numbers in the sheet."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def _sections(report: DailyReport) -> list[tuple[str, list[tuple[str, int, object]], list[dict]]]:
    """(sheet title, columns as (header, width, value of a row), rows) per section of the report."""
    content = report.content
    if report.kind == DailyReport.Kind.PRODUCTION:
        return [
            (
                _("按产品"),
                [
                    (_("物料编码"), 16, lambda row: row["product_code"]),
                    (_("产品名称"), 24, lambda row: row["product_name"]),
                    (_("计划完工订单数"), 14, lambda row: row["orders"]),
                    (_("计划数量"), 12, lambda row: _number(row["planned"])),
                    (_("完工数量"), 12, lambda row: _number(row["finished"])),
                    (_("完成率（%）"), 12, lambda row: _number(row["rate"])),
                    (_("当日报工数量"), 14, lambda row: _number(row["reported"])),
                ],
                content.get("products", []),
            ),
            (
                _("延期订单"),
                [
                    (_("生产订单"), 18, lambda row: row["code"]),
                    (_("物料编码"), 16, lambda row: row["product_code"]),
                    (_("产品名称"), 24, lambda row: row["product_name"]),
                    (_("计划完工日期"), 14, lambda row: row["finish_date"]),
                    (_("计划数量"), 12, lambda row: _number(row["planned"])),
                    (_("完工数量"), 12, lambda row: _number(row["finished"])),
                    (_("延期天数"), 10, lambda row: row["days_late"]),
                ],
                content.get("late_orders", []),
            ),
        ]
    return [
        (
            _("缺料物料"),
            [
                (_("标识"), 24, lambda row: row["key"]),
                (_("内容"), 60, lambda row: row["title"]),
                (_("级别"), 10, lambda row: row.get("severity") or ""),
            ],
            content.get("shortages", []),
        ),
        (
            _("未齐套生产订单"),
            [
                (_("生产订单"), 18, lambda row: row["key"]),
                (_("开工日期"), 12, lambda row: row.get("start_date", "")),
                (_("齐套率（%）"), 12, lambda row: _number(row.get("rate"))),
                (_("内容"), 60, lambda row: row["title"]),
                (_("缺料明细"), 40, lambda row: "；".join(row.get("missing", []))),
            ],
            content.get("unkitted", []),
        ),
    ]


def report_xlsx(report: DailyReport) -> bytes:
    """The bytes of the report's workbook (reports are small: built in memory)."""
    workbook = Workbook(write_only=True)
    sheets = []
    try:
        for title, columns, rows in _sections(report):
            sheet = workbook.create_sheet(title)
            sheets.append(sheet)
            for index, (_header, width, _value) in enumerate(columns, 1):
                sheet.column_dimensions[get_column_letter(index)].width = width
            sheet.freeze_panes = "A2"
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
            sheet.append([header for header, _width, _value in columns])
            for row in rows:
                sheet.append([text_cell(sheet, value(row)) for _header, _width, value in columns])
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    finally:
        for sheet in sheets:
            discard_write_only_temp(sheet)


def report_filename(report: DailyReport) -> str:
    return f"{report.kind}_report_{report.report_date:%Y%m%d}.xlsx"
