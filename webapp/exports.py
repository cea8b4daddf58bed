"""CSV and Parquet downloads of one series.

CSV is streamed batch by batch (SeriesStore.iter_bars), so memory stays flat however
many bars there are. Timestamps are ISO 8601 UTC ("2024-03-01T14:30:00Z"); prices are
written with Python's shortest exact float repr, so the file parses back to the very same
numbers. Parquet is streamed too: each row group goes out as soon as it is written (typed
columns, a UTC timestamp), so neither format builds the whole file before the first byte.
Served by gunicorn's threaded workers (gunicorn.conf.py), a long export to a slow client is
not cut by the worker timeout.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from typing import Iterator

import numpy as np
from flask import Response

from collector import BAR_COLUMNS, Series, SeriesStore

HEADER = BAR_COLUMNS
PARQUET_ROW_GROUP = 100_000
PARQUET_MIME = "application/vnd.apache.parquet"


def file_name(series: Series, start: int | None, end: int | None, extension: str) -> str:
    """AAPL_yahoo_1d_trades_2024-01-02_2024-12-31.csv: what, where from, which dates."""
    symbol = re.sub(r"[^A-Za-z0-9.\-]+", "_", series.symbol).strip("_") or "series"
    first = start if start is not None else series.first_ts
    last = (end - 1) if end is not None else series.last_ts
    days = "_".join(_day(t) for t in (first, last) if t is not None)
    return f"{symbol}_{series.source}_{series.interval}_{series.kind}{'_' + days if days else ''}.{extension}"


def csv_response(store: SeriesStore, series: Series, start: int | None, end: int | None) -> Response:
    response = Response(csv_chunks(store, series.id, start, end), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=file_name(series, start, end, "csv"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csv_chunks(store: SeriesStore, sid: int, start: int | None, end: int | None) -> Iterator[bytes]:
    """The CSV in pieces: a header row, then one piece per batch of bars.

    Arrow's C++ CSV writer formats the numbers (shortest exact repr, like Python's, at
    several times the speed of the csv module); volume and trades are written as whole
    numbers when they are whole.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    yield (",".join(HEADER) + "\n").encode()
    for rows in store.iter_bars(sid, start, end):
        table = np.array(rows, dtype=np.float64)  # one C pass; None -> NaN -> an empty field
        stamps = np.datetime_as_string(table[:, 0].astype("int64").astype("datetime64[s]"), unit="s", timezone="UTC")
        arrays = [pa.array(stamps)]
        for i, name in enumerate(HEADER[1:], start=1):
            values = table[:, i]
            arrays.append(_whole(values) if name in ("volume", "trades") else pa.array(values, from_pandas=True))
        out = io.BytesIO()
        pacsv.write_csv(pa.Table.from_arrays(arrays, names=list(HEADER)), out, write_options=options)
        yield out.getvalue()


def _whole(values: np.ndarray):
    """Integers when every value is one (12345678901, not 1.2345678901e+10)."""
    import pyarrow as pa

    present = values[~np.isnan(values)]
    if present.size and (np.abs(present).max() >= 2**53 or not np.array_equal(present, np.floor(present))):
        return pa.array(values, from_pandas=True)
    mask = np.isnan(values)
    return pa.array(np.where(mask, 0, values).astype(np.int64), mask=mask)


def parquet_response(store: SeriesStore, series: Series, start: int | None, end: int | None) -> Response:
    response = Response(parquet_chunks(store, series, start, end), mimetype=PARQUET_MIME)
    response.headers.set("Content-Disposition", "attachment", filename=file_name(series, start, end, "parquet"))
    return response


def parquet_chunks(store: SeriesStore, series: Series, start: int | None, end: int | None) -> Iterator[bytes]:
    """The Parquet file in pieces: whatever the writer produced after each row group, then the footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("ts", pa.timestamp("ms", tz="UTC")), ("open", pa.float64()), ("high", pa.float64()),
                        ("low", pa.float64()), ("close", pa.float64()), ("volume", pa.float64()),
                        ("wap", pa.float64()), ("trades", pa.int64())],
                       metadata={"source": series.source, "symbol": series.symbol,
                                 "interval": series.interval, "kind": series.kind})
    sink = _Outbox()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        pending: list[tuple] = []
        for rows in store.iter_bars(series.id, start, end):
            pending.extend(rows)
            while len(pending) >= PARQUET_ROW_GROUP:
                writer.write_table(_table(pending[:PARQUET_ROW_GROUP], schema))
                del pending[:PARQUET_ROW_GROUP]
                yield sink.take()
        if pending:
            writer.write_table(_table(pending, schema))
    yield sink.take()


class _Outbox(io.RawIOBase):
    """A write-only file that keeps what was written until it is taken (sent)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _table(rows: list[tuple], schema):
    import pyarrow as pa

    columns = list(zip(*rows)) if rows else [()] * len(schema)
    arrays = [pa.array(np.array(columns[0], dtype="int64") * 1000, type=pa.int64()).cast(schema.field("ts").type)]
    arrays += [pa.array(col, type=schema.field(name).type, from_pandas=True)
               for name, col in zip(HEADER[1:], columns[1:])]
    return pa.Table.from_arrays(arrays, schema=schema)


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d")
