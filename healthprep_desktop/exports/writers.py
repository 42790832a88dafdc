"""Table writers fed one row at a time: CSV, JSON Lines and Parquet.

JSON is written as JSON Lines (one object per line, ``.jsonl``), not one JSON array: a reader
can stream it as the writer does, and every line stands alone (``jq -c``, pandas
``read_json(lines=True)``, DuckDB ``read_json_auto``). Parquet goes through pyarrow in row
groups of ``ROW_GROUP`` rows, so a 20,000-patient panel is never one table in memory; dates are
date32 and flags list<string>. CSV flattens lists with `` | ``, dates ISO 8601, empty for none,
and a text cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a
carriage return: a name or note from the EHR could) gets a leading apostrophe, as OWASP advises
against CSV injection; JSON and Parquet keep the text as it is.

Every file is 0600 and atomic (private_stream.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from healthprep_desktop.exports.columns import Kind, Row, Table
from healthprep_desktop.exports.private_stream import private_output

ROW_GROUP = 5_000
LIST_SEPARATOR = " | "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"
    PARQUET = "parquet"

    @property
    def suffix(self) -> str:
        return {"csv": ".csv", "json": ".jsonl", "parquet": ".parquet"}[self.value]


def arrow_schema(table: Table) -> Any:
    """The table's pyarrow schema. pyarrow is imported here, not at module load: the window
    imports this module for ``Format`` and should not pay for Arrow until a Parquet file."""
    import pyarrow as pa

    types = {
        Kind.TEXT: pa.string(),
        Kind.INT: pa.int32(),
        Kind.FLOAT: pa.float64(),
        Kind.DATE: pa.date32(),
        Kind.TEXT_LIST: pa.list_(pa.string()),
    }
    return pa.schema([pa.field(c.name, types[c.kind]) for c in table.columns])


def write_table(
    rows: Iterable[Row], table: Table, fmt: Format, folder: Path, *, prefix: str = ""
) -> tuple[Path, int]:
    """Write ``rows`` (consumed once, as they come) to ``folder/<prefix><table.name><suffix>``;
    returns the path and the number of rows."""
    path = folder / f"{prefix}{table.name}{fmt.suffix}"
    with private_output(path) as fh:
        if fmt is Format.CSV:
            count = _csv(rows, table, fh)
        elif fmt is Format.JSON:
            count = _jsonl(rows, table, fh)
        else:
            count = _parquet(rows, table, fh)
    return path, count


def _csv(rows: Iterable[Row], table: Table, fh: BinaryIO) -> int:
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    kinds = {c.name: c.kind for c in table.columns}
    writer = csv.writer(text)
    writer.writerow(table.names)
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(row.get(name), kinds[name]) for name in table.names])
        count += 1
    text.flush()
    text.detach()  # the binary file stays open for private_output to sync and rename
    return count


def _csv_cell(value: Any, kind: Kind) -> str:
    if value is None:
        return ""
    if kind is Kind.TEXT_LIST:
        return LIST_SEPARATOR.join(_inert(str(v)) for v in value)
    if kind is Kind.TEXT:
        return _inert(str(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _inert(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _jsonl(rows: Iterable[Row], table: Table, fh: BinaryIO) -> int:
    count = 0
    for row in rows:
        record = {name: _json_value(row.get(name)) for name in table.names}
        fh.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return value


def _parquet(rows: Iterable[Row], table: Table, fh: BinaryIO) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(table)
    count = 0
    batch: list[Row] = []
    with pq.ParquetWriter(fh, schema, compression="zstd") as writer:
        for row in rows:
            batch.append({name: row.get(name) for name in table.names})
            if len(batch) >= ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or count == 0:  # an empty export is still a readable file with its schema
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


__all__ = ["FORMULA_STARTS", "LIST_SEPARATOR", "ROW_GROUP", "Format", "arrow_schema", "write_table"]
