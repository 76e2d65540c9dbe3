"""The export: a ZIP of an xlsx listing the records plus their photos under `images/`, one folder
per document (`images/<business id>_<doc number>/`), each row linking to its photo by a path
relative to the workbook, so the link opens once the ZIP is extracted.

Streamed while it is built: the ZIP is written to a pipe that the response drains after every
chunk, photos are copied in 256 KiB pieces, and the workbook is written by openpyxl in write-only
mode to a spooled temporary file that is always closed (and so removed). Memory stays constant
and no file is left behind, whatever the number of records or an early disconnect.
"""

import re
import tempfile
import zipfile
from collections.abc import Iterator

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from config.spreadsheets import discard_write_only_temp, text_cell
from uploads import files
from uploads.models import UploadRecord, UploadStatus

CHUNK = 256 * 1024
# Characters no file system (Windows, macOS, Linux) accepts in a folder name, and control characters.
UNSAFE_PATH_CHARACTERS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# Widths in characters, in the order of `headers()`; a CJK character counts about two.
COLUMN_WIDTHS = (20, 10, 12, 14, 20, 36, 28, 14, 12, 16, 40, 24, 14)
LINK_FONT = Font(color="0563C1", underline="single")


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
        _("照片"),
    ]


def document_folder(record: UploadRecord) -> str:
    """The ZIP folder of a document's photos: `<business id>_<doc number>`, safe on every system."""
    name = UNSAFE_PATH_CHARACTERS.sub("_", f"{record.business_id}_{record.doc_number}").strip(" .")
    return name or "_"


def image_path(record: UploadRecord) -> str:
    return f"images/{document_folder(record)}/{record.file_name}"


def _photo_link_cell(ws, record: UploadRecord):
    """A HYPERLINK formula we write ourselves: its only text is our own path and file name, with
    quotes doubled. A formula rather than a hyperlink relationship, which openpyxl keeps in memory
    for every row until the sheet is saved."""
    target = image_path(record).replace('"', '""')
    label = record.file_name.replace('"', '""')
    cell = WriteOnlyCell(ws, value=f'=HYPERLINK("{target}","{label}")')
    cell.font = LINK_FONT
    return cell


def _prepare_sheet(sheet) -> None:
    """Widths and the frozen header row are written before the first row, so they are set first."""
    for index, width in enumerate(COLUMN_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


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
    return [text_cell(ws, value) for value in values] + [_photo_link_cell(ws, record)]


def _add_image(zf: zipfile.ZipFile, pipe: _Pipe, record: UploadRecord) -> Iterator[bytes]:
    if record.local_file_deleted_at is not None:
        return
    try:
        source = files.open_stored(record.local_file_path)
    except OSError:  # also StoredFileUnavailable
        return  # purged or lost: the row is still listed in the workbook
    with source:
        info = zipfile.ZipInfo(image_path(record), timezone.localtime(record.upload_time).timetuple()[:6])
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
    rows = 0
    try:
        _prepare_sheet(sheet)
        sheet.append(headers())
        with zipfile.ZipFile(pipe, "w", allowZip64=True) as zf:
            for record in queryset.order_by("-upload_time", "-id").iterator(chunk_size=500):
                sheet.append(_row(sheet, record))
                rows += 1
                yield from _add_image(zf, pipe, record)
            # The filter's range ends at the last row, written with the sheet's tail on save.
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMN_WIDTHS))}{rows + 1}"
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
        discard_write_only_temp(sheet)
