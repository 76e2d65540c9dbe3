"""The export: a ZIP of an xlsx listing the records plus their photos under `images/`.

Streamed while it is built: the ZIP is written to a pipe that the response drains after every
chunk, photos are copied in 256 KiB pieces, and the workbook is written by openpyxl in write-only
mode to a spooled temporary file that is always closed (and so removed). Memory stays constant
and no file is left behind, whatever the number of records or an early disconnect.
"""

import tempfile
import zipfile
from collections.abc import Iterator

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from uploads import files
from uploads.models import UploadRecord, UploadStatus

CHUNK = 256 * 1024
# A spreadsheet treats these leading characters as the start of a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def export_name() -> str:
    return "upload_records_" + timezone.localtime().strftime("%Y%m%d_%H%M%S")


class _Pipe:
    """A write-only, unseekable sink: zipfile then writes data descriptors and never seeks back."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def headers() -> list[str]:
    return [
        _("单据编号"),
        _("单据类型"),
        _("产品类型"),
        _("业务ID"),
        _("上传时间"),
        _("文件名"),
        _("原文件名"),
        _("文件大小(字节)"),
        _("状态"),
        _("错误代码"),
        _("错误信息"),
        _("用友文件ID"),
    ]


def _text_cell(ws, value):
    """Strings are written as text; one that looks like a formula also gets Excel's quote prefix,
    so neither opening nor editing the cell ever runs it."""
    if isinstance(value, str):
        # Control characters (accepted in a doc_number, or sent by Yonyou in an error text) are
        # illegal in a worksheet: openpyxl would raise and cut every export with that row short.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    return value


def _row(ws, record: UploadRecord) -> list:
    values = [
        record.doc_number,
        record.doc_type,
        record.product_type or "",
        record.business_id,
        timezone.localtime(record.upload_time).strftime("%Y-%m-%d %H:%M:%S"),
        record.file_name,
        record.original_name,
        record.file_size,
        str(UploadStatus(record.status).label),
        record.error_code or "",
        record.error_message or "",
        record.yonyou_file_id or "",
    ]
    return [_text_cell(ws, value) for value in values]


def _add_image(zf: zipfile.ZipFile, pipe: _Pipe, record: UploadRecord) -> Iterator[bytes]:
    if record.local_file_deleted_at is not None:
        return
    try:
        source = files.open_stored(record.local_file_path)
    except OSError:  # also StoredFileUnavailable
        return  # purged or lost: the row is still listed in the workbook
    with source:
        info = zipfile.ZipInfo(f"images/{record.file_name}", timezone.localtime(record.upload_time).timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED  # photos do not compress
        with zf.open(info, "w") as dest:
            while chunk := source.read(CHUNK):
                dest.write(chunk)
                yield pipe.drain()
    yield pipe.drain()


def export_zip(queryset) -> Iterator[bytes]:
    """Yield the bytes of the ZIP for `queryset`, one pass over the rows."""
    name = export_name()
    pipe = _Pipe()
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (closed in finally)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("上传记录"))
    try:
        sheet.append(headers())
        with zipfile.ZipFile(pipe, "w", allowZip64=True) as zf:
            for record in queryset.order_by("-upload_time", "-id").iterator(chunk_size=500):
                sheet.append(_row(sheet, record))
                yield from _add_image(zf, pipe, record)
            workbook.save(spool)
            spool.seek(0)
            info = zipfile.ZipInfo(f"{name}.xlsx", timezone.localtime().timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as dest:
                while chunk := spool.read(CHUNK):
                    dest.write(chunk)
                    yield pipe.drain()
        yield pipe.drain()  # the central directory, written on close
    finally:
        spool.close()
        _discard_workbook_temp(sheet)


def _discard_workbook_temp(sheet) -> None:
    # openpyxl's write-only sheet streams rows to a temp file that only a completed save removes.
    from openpyxl.worksheet._writer import ALL_TEMP_FILES

    writer = getattr(sheet, "_writer", None)
    if writer is not None and writer.out in ALL_TEMP_FILES:
        rows = getattr(sheet, "_rows", None)
        if rows is not None:
            rows.close()  # ends the row stream while its file is still open
        writer.close()
        writer.cleanup()
