"""The report as one Excel workbook, ready to use: a Summary sheet and one sheet per table, styled
headers, frozen panes, autofilter, widths fitted to the content (CJK counted double), number
formats and traffic-light colours by column kind, and a bar chart of the scorecards' mean scores.
Written aside, then renamed over the old file."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.files import replacing
from pipeline.reports.table import (
    DELTA,
    NUMBER_FORMATS,
    TEXT,
    TIME,
    TRAFFIC_LIGHTS,
    WRAPPED,
    Report,
    Table,
    cell_text,
    is_missing,
)

EXCEL_CELL_MAX = 32767  # characters; Excel refuses longer cells

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="1F4E78")
WRAPPED_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
TOP_ALIGNMENT = Alignment(vertical="top")
# A conditional format's fill is drawn in its end (background) colour: both are set.
LIGHT_FILLS = {name: PatternFill("solid", start_color=rgb, end_color=rgb)
               for name, rgb in (("red", "F8CBAD"), ("amber", "FFE699"), ("green", "C6EFCE"))}
WIDTH_CAPS = {WRAPPED: 70, TEXT: 40}  # characters; other kinds are numbers
HEADER_WIDTH_CAP = 22  # long headers (item titles) wrap rather than widen the column
LINE_HEIGHT = 15  # points, one line of the default 11-point font
WIDE_SHEET_COLUMNS = 8  # from this many columns the first column is frozen too


def display_width(text: str) -> int:
    """Width in Excel character units of the longest line: CJK (wide, full-width) characters count 2."""
    lines = text.split("\n")
    if text.isascii():
        return max(map(len, lines))
    return max(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) for line in lines)


def _put(cell, value, kind: str) -> None:
    if is_missing(value):
        return
    if isinstance(value, str):
        cell.value = cell_text(value)[:EXCEL_CELL_MAX]
        cell.data_type = "s"  # a string, whatever it looks like: never a formula
    else:
        cell.value = value
        if kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[kind]
    cell.alignment = WRAPPED_ALIGNMENT if kind == WRAPPED else TOP_ALIGNMENT


def _value_width(value, kind: str) -> int:
    if is_missing(value):
        return 0
    if isinstance(value, str):
        return display_width(value)
    return 16 if kind == TIME else 8


def _write_header(ws, headers: list[str]) -> None:
    for column, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=column)
        _put(cell, header, TEXT)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAPPED_ALIGNMENT


def _set_widths(ws, table: Table) -> None:
    """Columns as wide as their content (capped); the header row as tall as its longest wrapped header."""
    header_lines = 1
    for column, header in enumerate(table.frame.columns, start=1):
        kind = table.kind(header)
        content = max((_value_width(v, kind) for v in table.frame[header]), default=0)
        width = max(content, min(display_width(header), HEADER_WIDTH_CAP), 6)
        width = min(width, WIDTH_CAPS.get(kind, width))
        ws.column_dimensions[get_column_letter(column)].width = width + 2
        header_lines = max(header_lines, math.ceil(display_width(header) / width))
    # Excel sizes rows to wrapped text only when a cell is edited: the header row gets its height here.
    ws.row_dimensions[1].height = LINE_HEIGHT * min(header_lines, 6)


def _traffic_lights(ws, cells: str, kind: str) -> None:
    """Red / amber / green fills by the kind's bands; empty cells stay white (Excel reads them as 0)."""
    low, high = TRAFFIC_LIGHTS[kind]
    first = cells.split(":")[0]
    rules = [("red", f"{first}<{low}"), ("amber", f"{first}<{high}"), ("green", f"{first}>={high}")]
    for colour, test in rules:  # in priority order: the first rule that holds colours the cell
        ws.conditional_formatting.add(cells, FormulaRule(formula=[f"AND(ISNUMBER({first}),{test})"],
                                                         fill=LIGHT_FILLS[colour], stopIfTrue=True))


def _signed_colours(ws, cells: str) -> None:
    first = cells.split(":")[0]
    ws.conditional_formatting.add(cells, FormulaRule(formula=[f"AND(ISNUMBER({first}),{first}<0)"],
                                                     font=Font(color="C00000")))
    ws.conditional_formatting.add(cells, FormulaRule(formula=[f"AND(ISNUMBER({first}),{first}>0)"],
                                                     font=Font(color="2E7D32")))


def _conditional_formats(ws, table: Table, last_row: int) -> None:
    for column, header in enumerate(table.frame.columns, start=1):
        letter = get_column_letter(column)
        cells = f"{letter}2:{letter}{max(last_row, 2)}"
        kind = table.kind(header)
        if kind in TRAFFIC_LIGHTS:
            _traffic_lights(ws, cells, kind)
        elif kind == DELTA:
            _signed_colours(ws, cells)


def _bar_chart(ws, table: Table, last_row: int) -> None:
    category, value = table.chart
    headers = list(table.frame.columns)
    chart = BarChart()
    chart.title = f"{value} per agent"
    chart.y_axis.title = value
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    # openpyxl 3.1 writes axes as deleted unless told otherwise: Excel would draw no axis labels.
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend = None
    data = Reference(ws, min_col=headers.index(value) + 1, min_row=1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    # Categories as a string reference: agent ids are text (set_categories would declare numbers).
    agents = Reference(ws, min_col=headers.index(category) + 1, min_row=2, max_row=last_row)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(agents)))
    chart.width = min(max(16, 1.2 * (last_row - 1)), 48)  # centimetres: room for every agent's bar
    ws.add_chart(chart, f"A{last_row + 3}")  # below the table, where filtering does not hide it


def _write_table(ws, table: Table) -> None:
    headers = list(table.frame.columns)
    kinds = [table.kind(h) for h in headers]
    _write_header(ws, headers)
    for row_number, row in enumerate(table.frame.itertuples(index=False, name=None), start=2):
        for column, (value, kind) in enumerate(zip(row, kinds), start=1):
            _put(ws.cell(row=row_number, column=column), value, kind)
    last_row = len(table.frame) + 1
    ws.freeze_panes = "B2" if len(headers) >= WIDE_SHEET_COLUMNS else "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last_row}"
    _set_widths(ws, table)
    _conditional_formats(ws, table, last_row)
    if table.chart and not table.frame.empty:
        _bar_chart(ws, table, last_row)


def _write_summary(ws, rows: list[tuple[str, object, str]]) -> None:
    _write_header(ws, ["Summary", "Value"])
    for row_number, (label, value, kind) in enumerate(rows, start=2):
        _put(ws.cell(row=row_number, column=1), label, TEXT)
        _put(ws.cell(row=row_number, column=2), value, kind)
        if kind in TRAFFIC_LIGHTS:
            _traffic_lights(ws, f"B{row_number}", kind)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:B{len(rows) + 1}"
    ws.column_dimensions["A"].width = min(max(display_width(label) for label, _, _ in rows) + 2, 60)
    ws.column_dimensions["B"].width = min(max(_value_width(v, k) for _, v, k in rows) + 2, 60)


def write_xlsx(report: Report, path: Path) -> None:
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    _write_summary(summary, report.summary)
    for table in report.tables:
        _write_table(workbook.create_sheet(table.sheet), table)
    with replacing(path) as temporary:
        workbook.save(temporary)

