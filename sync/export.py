"""A synced document list as an xlsx, for the rows the admin changelist shows (its filters, search
and date drill-down applied).

openpyxl's write-only sheet streams the rows to a temporary file and the workbook is saved into an
anonymous temporary file, then sent in 256 KiB pieces: memory stays constant whatever the number of
rows, and both files are gone when the response ends or the client goes away.
"""

import tempfile
from collections.abc import Iterator
from datetime import datetime

from django.db import models
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from config.spreadsheets import discard_write_only_temp, text_cell

CHUNK = 256 * 1024


def export_name(model) -> str:
    return f"{model._meta.model_name}_" + timezone.localtime().strftime("%Y%m%d_%H%M%S")


def exported_fields(model) -> list[models.Field]:
    """Every column of the document but the local row id, in declaration order."""
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _width(field: models.Field) -> int:
    if isinstance(field, models.DateTimeField):
        return 20
    if isinstance(field, models.DateField):
        return 12
    if isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
        return 14
    return min(max(getattr(field, "max_length", None) or 16, 12), 40)


def _value(ws, field: models.Field, record):
    value = getattr(record, field.attname)
    if isinstance(value, datetime):
        # A worksheet has no time zones: the time as staff read it, in Asia/Shanghai.
        return timezone.localtime(value).replace(tzinfo=None)
    return text_cell(ws, value)


def export_xlsx(queryset) -> Iterator[bytes]:
    """Yield the bytes of an xlsx of `queryset`, one pass over the rows."""
    fields = exported_fields(queryset.model)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(queryset.model._meta.verbose_name))
    saved = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally)
    rows = 0
    try:
        for index, field in enumerate(fields, 1):
            sheet.column_dimensions[get_column_letter(index)].width = _width(field)
        sheet.freeze_panes = "A2"
        sheet.append([str(field.verbose_name) for field in fields])
        for record in queryset.iterator(chunk_size=1000):
            sheet.append([_value(sheet, field, record) for field in fields])
            rows += 1
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(fields))}{rows + 1}"
        workbook.save(saved)
        saved.seek(0)
        while chunk := saved.read(CHUNK):
            yield chunk
    finally:
        saved.close()
        discard_write_only_temp(sheet)
