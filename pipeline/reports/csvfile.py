"""One report table as a CSV file: UTF-8 with BOM (so Excel reads Chinese correctly), numbers
rounded by their column's kind, untrusted text inert; written aside, then renamed over the old file."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from pipeline.files import replacing
from pipeline.reports.table import CSV_DECIMALS, Table, cell_text, is_missing


def csv_value(value, kind: str):
    if is_missing(value):
        return ""
    if isinstance(value, str):
        return cell_text(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if kind in CSV_DECIMALS:
        return round(float(value), CSV_DECIMALS[kind])
    return value


def write_csv(table: Table, path: Path) -> None:
    kinds = [table.kind(h) for h in table.frame.columns]
    with replacing(path) as temporary:
        # utf-8-sig: the BOM is how Excel knows a CSV is UTF-8 (else Chinese arrives garbled).
        with open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([cell_text(h) for h in table.frame.columns])
            for row in table.frame.itertuples(index=False, name=None):
                writer.writerow([csv_value(v, k) for v, k in zip(row, kinds)])
