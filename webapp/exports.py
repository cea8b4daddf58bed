"""CSV and Parquet downloads of one series, as stored or adjusted (?adjust=splits|all) and
resampled by session (?resample=5m|1h|1d|...), the file name saying which.

CSV is streamed batch by batch (SeriesStore.iter_bars, or collector's series_frames when
adjusted or resampled), so memory stays flat however many bars there are. Timestamps are ISO 8601 UTC ("2024-03-01T14:30:00Z"); prices are
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

from collector import BAR_COLUMNS, Series, SeriesStore, series_frames

HEADER = BAR_COLUMNS
PARQUET_ROW_GROUP = 100_000
PARQUET_MIME = "application/vnd.apache.parquet"


def file_name(series: Series, start: int | None, end: int | None, extension: str,
              adjust: str | None = None, resample: str | None = None) -> str:
    """AAPL_yahoo_1d_trades_2024-01-02_2024-12-31.csv: what, where from, which dates; with
    `_resampled-1w` and `_adjusted-splits` when the file holds that rather than the stored bars."""
    symbol = re.sub(r"[^A-Za-z0-9.\-^=]+", "_", series.symbol).strip("_") or "series"  # ^GSPC, EURUSD=X kept
    first = start if start is not None else series.first_ts
    last = (end - 1) if end is not None else series.last_ts
    days = "_".join(_day(t) for t in (first, last) if t is not None)
    how = (f"_resampled-{resample}" if resample else "") + (f"_adjusted-{adjust}" if adjust else "")
    return f"{symbol}_{series.source}_{series.interval}_{series.kind}{how}{'_' + days if days else ''}.{extension}"


def csv_response(store: SeriesStore, series: Series, start: int | None, end: int | None,
                 adjust: str | None = None, resample: str | None = None) -> Response:
    response = Response(csv_chunks(store, series, start, end, adjust, resample), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment",
                         filename=file_name(series, start, end, "csv", adjust, resample))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def row_batches(store: SeriesStore, series: Series, start: int | None, end: int | None,
                adjust: str | None, resample: str | None) -> Iterator[np.ndarray]:
    """Batches of bars as float arrays (ts first, then BAR_COLUMNS' values; NaN for none)."""
    if not adjust and not resample:
        for rows in store.iter_bars(series.id, start, end):
            yield np.array(rows, dtype=np.float64)  # one C pass; None -> NaN
        return
    for frame in series_frames(store, series, start, end, adjust, resample):
        ts = frame.index.as_unit("s").asi8.astype(np.float64)
        yield np.column_stack([ts, frame[list(HEADER[1:])].to_numpy(dtype=np.float64)])


def csv_chunks(store: SeriesStore, series: Series, start: int | None, end: int | None,
               adjust: str | None = None, resample: str | None = None) -> Iterator[bytes]:
    """The CSV in pieces: a header row, then one piece per batch of bars.

    Arrow's C++ CSV writer formats the numbers (shortest exact repr, like Python's, at
    several times the speed of the csv module); volume and trades are written as whole
    numbers when they are whole.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    yield (",".join(HEADER) + "\n").encode()
    for table in row_batches(store, series, start, end, adjust, resample):  # NaN -> an empty field
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


def parquet_response(store: SeriesStore, series: Series, start: int | None, end: int | None,
                     adjust: str | None = None, resample: str | None = None) -> Response:
    response = Response(parquet_chunks(store, series, start, end, adjust, resample), mimetype=PARQUET_MIME)
    response.headers.set("Content-Disposition", "attachment",
                         filename=file_name(series, start, end, "parquet", adjust, resample))
    return response


def parquet_chunks(store: SeriesStore, series: Series, start: int | None, end: int | None,
                   adjust: str | None = None, resample: str | None = None) -> Iterator[bytes]:
    """The Parquet file in pieces: whatever the writer produced after each row group, then the footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("ts", pa.timestamp("ms", tz="UTC")), ("open", pa.float64()), ("high", pa.float64()),
                        ("low", pa.float64()), ("close", pa.float64()), ("volume", pa.float64()),
                        ("wap", pa.float64()), ("trades", pa.int64())],
                       metadata={"source": series.source, "symbol": series.symbol,
                                 "interval": resample or series.interval, "kind": series.kind,
                                 "adjusted": adjust or "", "resampled_from": series.interval if resample else ""})
    sink = _Outbox()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        pending = np.empty((0, len(HEADER)), dtype=np.float64)
        for table in row_batches(store, series, start, end, adjust, resample):
            pending = np.concatenate([pending, table])
            while len(pending) >= PARQUET_ROW_GROUP:
                writer.write_table(_table(pending[:PARQUET_ROW_GROUP], schema))
                pending = pending[PARQUET_ROW_GROUP:]
                yield sink.take()
        if len(pending):
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


def _table(table: np.ndarray, schema):
    import pyarrow as pa

    arrays = [pa.array(table[:, 0].astype("int64") * 1000, type=pa.int64()).cast(schema.field("ts").type)]
    for i, name in enumerate(HEADER[1:], start=1):
        values = table[:, i]
        if name == "trades":
            mask = np.isnan(values)
            arrays.append(pa.array(np.where(mask, 0, values).astype(np.int64), mask=mask, type=pa.int64()))
        else:
            arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d")
