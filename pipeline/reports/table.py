"""What a report is made of, shared by the aggregation and both writers: ``Table`` (one sheet and
one CSV file), ``Report``, the column kinds that say how a value is shown (Excel number format,
CSV rounding, colours), and how untrusted text becomes a cell (inert for spreadsheets: OWASP
"CSV injection")."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# --- column kinds: how a column's values are shown (Excel number format, CSV rounding, colours) ---

TEXT, WRAPPED, COUNT, SCORE, DELTA, PASS_RATE, SHARE, SECONDS, RATE, TIME = (
    "text", "wrapped", "count", "score", "delta", "pass_rate", "share", "seconds", "rate", "time")
NUMBER_FORMATS = {COUNT: "0", SCORE: "0.0", DELTA: "+0.0;-0.0;0.0", PASS_RATE: "0%", SHARE: "0%",
                  SECONDS: "0.0", RATE: "0", TIME: "yyyy-mm-dd hh:mm"}
CSV_DECIMALS = {SCORE: 2, DELTA: 2, PASS_RATE: 4, SHARE: 4, SECONDS: 2, RATE: 1}
# Red / amber below these, green from the second: the QA team's usual 60 / 80 bands.
TRAFFIC_LIGHTS = {SCORE: (60, 80), PASS_RATE: (0.6, 0.8)}


@dataclass
class Table:
    """One sheet of the workbook and one CSV file: a frame whose column names are the headers."""

    sheet: str
    file_stem: str
    frame: pd.DataFrame
    kinds: dict[str, str] = field(default_factory=dict)  # header -> kind; TEXT when absent
    chart: tuple[str, str] | None = None  # (category header, value header) of a bar chart

    def kind(self, header: str) -> str:
        return self.kinds.get(header, TEXT)


@dataclass
class Report:
    summary: list[tuple[str, object, str]]  # (label, value, kind)
    tables: list[Table]


# --- cells: inert text, missing values ----------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """Text a spreadsheet will not run: a leading ' before =, +, -, @, tab or CR (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(text: str) -> str:
    """Untrusted text as it goes into a cell of either format: without the control characters XML
    cannot hold (openpyxl raises on them), and inert."""
    return inert(ILLEGAL_CHARACTERS_RE.sub("", text))


def is_missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))
