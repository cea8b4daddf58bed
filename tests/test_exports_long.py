"""Exports of millions of bars: Parquet is streamed like CSV (no whole file built first), and
gunicorn as configured does not cut a long export to a slow client at its worker timeout
(issue 13)."""

import http.client
import io
import socket
import time
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from tests.helpers import sim_frame, store_bars
from webapp import exports


@pytest.mark.both_databases
def test_parquet_goes_out_row_group_by_row_group(client, db, monkeypatch):
    monkeypatch.setattr(exports, "PARQUET_ROW_GROUP", 1000)
    frame = sim_frame(interval="5m", start="2024-01-01", end="2024-03-01")
    store_bars(db, frame, interval="5m")
    response = client.get("/data/sim/AAPL/5m.parquet", buffered=False)
    assert response.is_streamed and "Content-Length" not in response.headers
    pieces = [piece for piece in response.response if piece]
    response.close()
    assert len(pieces) >= len(frame) // 1000 and pieces[0].startswith(b"PAR1")
    parquet = pq.ParquetFile(io.BytesIO(b"".join(pieces)))
    assert parquet.metadata.num_rows == len(frame) and parquet.num_row_groups == -(-len(frame) // 1000)


def test_a_long_export_to_a_slow_client_outlives_the_worker_timeout(gunicorn, db):
    frame = sim_frame(interval="1m", start="2023-01-01", end="2024-12-31")
    store_bars(db, frame, interval="1m")
    timeout = 2
    server = gunicorn("--timeout", str(timeout), "--workers", "1")
    where = urlsplit(server.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    connection.connect()
    connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)  # little slack on our side
    connection.request("GET", "/data/sim/AAPL/1m.csv")
    response = connection.getresponse()
    assert response.status == 200
    started, lines, size = time.monotonic(), 0, 0
    while piece := response.read(512 * 1024):
        lines += piece.count(b"\n")
        size += len(piece)
        time.sleep(0.2)  # a slow client: the worker waits on the socket for seconds at a time
    connection.close()
    assert time.monotonic() - started > 2 * timeout  # the export did outlast the timeout
    assert lines == len(frame) + 1, f"cut after {size:,} bytes"
    assert "WORKER TIMEOUT" not in server.log_text()
