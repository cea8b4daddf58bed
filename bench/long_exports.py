"""Exports of 5,000,000 bars through gunicorn, as deployed, against gunicorn's worker timeout.

    python bench/long_exports.py [--rows 5000000] [--rate-mb 10] [--timeout 30]

One SQLite series of N one-minute bars; gunicorn started from the project folder, so
gunicorn.conf.py applies: threaded workers (gthread) and the default 30 s timeout. Baseline
in the same run: the same command with `--worker-class sync --threads 1`, gunicorn's default
worker, which mdc used before. Each export is downloaded by a client reading at most
`--rate-mb` MB/s (a 100 Mbit/s link by default), CSV and Parquet alike. Printed per run: time
to the first byte, total time, bytes and rows received, and whether the file arrived whole.
"""

from __future__ import annotations

import argparse
import http.client
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data_export import prepare  # noqa: E402

WORKERS = {"gthread (gunicorn.conf.py)": [], "sync (baseline)": ["--worker-class", "sync", "--threads", "1"]}


def start(db_path: Path, extra: list[str], timeout: int, log: Path) -> tuple[subprocess.Popen, int]:
    from collector import Settings
    from collector.embedded import free_port, port_open
    from tests.helpers import settings_env

    settings = Settings(data_dir=db_path.parent, database_url=f"sqlite:///{db_path}",
                        redis_url="redis://127.0.0.1:1/0", key_prefix="bench")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--timeout", str(timeout), "--error-logfile", str(log), "--access-logfile", "/dev/null",
                             *extra, "wsgi:app"], cwd=ROOT, env=settings_env(settings))
    deadline = time.monotonic() + 60
    while not port_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"gunicorn did not start; see {log}")
        time.sleep(0.1)
    return proc, port


def download(port: int, path: str, rate_mb: float) -> dict:
    """GET `path`, reading at most `rate_mb` MB/s; what arrived and when."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    connection.request("GET", path)
    response = connection.getresponse()
    first = None
    body = io.BytesIO() if path.endswith(".parquet") else None
    size = lines = 0
    whole = True
    piece_size = 256 * 1024
    try:
        while piece := response.read(piece_size):
            first = first or time.monotonic() - started
            size += len(piece)
            lines += piece.count(b"\n")
            if body is not None:
                body.write(piece)
            lag = size / (rate_mb * 2**20) - (time.monotonic() - started)
            if lag > 0:
                time.sleep(lag)
    except (http.client.IncompleteRead, ConnectionError):
        whole = False
    finally:
        connection.close()
    rows = lines - 1 if body is None else parquet_rows(body)
    response.close()
    return {"first_s": first or float("nan"), "total_s": time.monotonic() - started, "mb": size / 2**20,
            "rows": rows, "whole": whole and rows >= 0}


def parquet_rows(body: io.BytesIO) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(io.BytesIO(body.getvalue())).metadata.num_rows
    except Exception:  # a cut file has no footer
        return -1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rate-mb", type=float, default=10.0, help="client read rate, MB/s")
    parser.add_argument("--timeout", type=int, default=30, help="gunicorn --timeout (its default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mdc-bench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        prepare(db_path, args.rows, 1000)
        print(f"prepared {args.rows:,} bars in {time.perf_counter() - started:.0f} s; client reads at most "
              f"{args.rate_mb:g} MB/s; gunicorn --timeout {args.timeout}", flush=True)
        for label, extra in WORKERS.items():
            log = Path(tmp) / f"{label.split()[0]}.log"
            proc, port = start(db_path, extra, args.timeout, log)
            try:
                for kind in ("csv", "parquet"):  # warm up: imports and the first connection
                    download(port, f"/data/sim/EXPORT/1m.{kind}?start=2020-01-01&end=2020-01-01", 1000)
                for kind in ("csv", "parquet"):
                    r = download(port, f"/data/sim/EXPORT/1m.{kind}", args.rate_mb)
                    outcome = "whole" if r["whole"] and r["rows"] == args.rows else "CUT"
                    print(f"{label:<27} {kind:<8} first byte {r['first_s']:6.2f} s, total {r['total_s']:6.1f} s, "
                          f"{r['mb']:7.1f} MB, {max(r['rows'], 0):>10,} rows: {outcome}", flush=True)
            finally:
                proc.terminate()
                proc.wait(30)
            timeouts = log.read_text().count("WORKER TIMEOUT")
            print(f"{label:<27} worker timeouts in gunicorn's log: {timeouts}", flush=True)


if __name__ == "__main__":
    main()
