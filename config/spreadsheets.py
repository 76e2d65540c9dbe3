"""What every xlsx the service writes shares: text that is never run as a formula, and no
temporary file left behind by openpyxl's write-only sheets."""

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# A spreadsheet treats these leading characters as the start of a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def text_cell(ws, value):
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


def discard_write_only_temp(sheet) -> None:
    """Remove the temp file a write-only sheet streams its rows to, which only a completed save
    removes (an export abandoned half way would otherwise leave it behind)."""
    from openpyxl.worksheet._writer import ALL_TEMP_FILES

    writer = getattr(sheet, "_writer", None)
    if writer is not None and writer.out in ALL_TEMP_FILES:
        rows = getattr(sheet, "_rows", None)
        if rows is not None:
            rows.close()  # ends the row stream while its file is still open
        writer.close()
        writer.cleanup()
