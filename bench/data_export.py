"""Data page speed: CSV export of 1,000,000 bars and the chart of 500,000 bars.

    python bench/data_export.py [--rows 1000000] [--chart-rows 500000] [--repeat 3]

Each measurement runs in a fresh child process on a prepared SQLite database, through the
Flask test client (server time, no network). CSV: rows/s and peak memory growth, i.e. the
peak resident set size during the export minus the resident set size at rest just before
it (targets: >= 200,000 rows/s, < 50 MB). Chart: the htmx chart fragment of a 500,000-bar
series, database read, downsampling and SVG included (target < 200 ms); also the full
series page and a Parquet export of the 1,000,000 bars, for reference.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGE = 4096


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class PeakSampler(threading.Thread):
    """Highest resident set size seen while running, sampled every 2 ms. (ru_maxrss would
    not do: Linux carries it over from the parent process through fork and exec.)"""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.002)

    def stop(self) -> float:
        self.running = False
        self.join()
        return max(self.peak, rss_mb())


def prepare(path: Path, rows: int, chart_rows: int) -> None:
    import numpy as np
    import pandas as pd

    from collector.store.db import Database
    from collector.store.upsert import upsert_bars

    db = Database(f"sqlite:///{path}")
    db.migrate()
    for symbol, n in (("EXPORT", rows), ("CHART", chart_rows)):
        index = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="ts")
        rng = np.random.default_rng(7)
        close = (100 + np.cumsum(rng.normal(0, 0.01, n))).round(4)
        frame = pd.DataFrame({"open": close, "high": close + 0.01, "low": close - 0.01, "close": close,
                              "volume": rng.integers(1, 1000, n).astype(float), "wap": close,
                              "trades": rng.integers(1, 50, n).astype(float)}, index=index)
        with db.write() as session:
            upsert_bars(session, source="sim", symbol=symbol, interval="1m", kind="trades", frame=frame)
    db.dispose()


def child(path: str, what: str) -> dict:
    from collector.settings import Settings
    from webapp import create_app

    settings = Settings(data_dir=Path(path).parent, database_url=f"sqlite:///{path}",
                        redis_url="redis://127.0.0.1:1/0", key_prefix="bench")
    client = create_app({"TESTING": True, "MDC_SETTINGS": settings, "SECRET_KEY": "bench"}).test_client()
    # Warm up: imports, templates, the first connection.
    assert client.get("/data/sim/EXPORT/1m.csv?start=2020-01-01&end=2020-01-01").status_code == 200
    assert client.get("/data/sim/CHART/1m?range=1d", headers={"HX-Request": "true", "HX-Target": "chart"}).status_code == 200
    gc.collect()
    if what == "csv":
        at_rest = rss_mb()
        sampler = PeakSampler()
        sampler.start()
        start = time.perf_counter()
        response = client.get("/data/sim/EXPORT/1m.csv", buffered=False)
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        seconds = time.perf_counter() - start
        response.close()
        peak = sampler.stop()
        return {"rows": lines - 1, "seconds": seconds, "rows_per_s": (lines - 1) / seconds,
                "mb": size / 2**20, "growth_mb": max(0.0, peak - at_rest), "at_rest_mb": at_rest}
    if what == "parquet":
        start = time.perf_counter()
        body = client.get("/data/sim/EXPORT/1m.parquet").get_data()
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "rows_per_s": 1_000_000 / seconds, "mb": len(body) / 2**20}
    times, page_times = [], []
    for _ in range(10):
        start = time.perf_counter()
        html = client.get("/data/sim/CHART/1m", headers={"HX-Request": "true", "HX-Target": "chart"}).get_data(as_text=True)
        times.append(time.perf_counter() - start)
        assert 'data-mode="envelope"' in html
    for _ in range(3):
        start = time.perf_counter()
        assert client.get("/data/sim/CHART/1m").status_code == 200
        page_times.append(time.perf_counter() - start)
    return {"chart_ms": statistics.median(times) * 1000, "chart_p_max_ms": max(times) * 1000,
            "svg_kb": len(html) / 1024, "page_ms": statistics.median(page_times) * 1000}


def run_child(path: Path, what: str, tree: Path | None = None) -> dict:
    """One measurement in a fresh process, with this tree's code or another's (a baseline)."""
    script = Path(__file__) if tree is None else tree / "bench" / "data_export.py"
    out = subprocess.run([sys.executable, str(script), "--child", what, str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chart-rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "DB"))
    parser.add_argument("--baseline-tree", type=Path,
                        help="another checkout (e.g. `git archive main`): its chart is measured alternately with ours")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[1], args.child[0])))
        return
    with tempfile.TemporaryDirectory(prefix="mdc-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        prepare(path, args.rows, args.chart_rows)
        print(f"prepared {args.rows:,} + {args.chart_rows:,} bars in {time.perf_counter() - start:.1f} s")
        csv_runs = [run_child(path, "csv") for _ in range(args.repeat)]
        chart_runs, baseline_runs = [], []
        for _ in range(args.repeat):  # alternately, so both see the same machine
            chart_runs.append(run_child(path, "chart"))
            if args.baseline_tree:
                baseline_runs.append(run_child(path, "chart", args.baseline_tree))
        parquet = run_child(path, "parquet")
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    print(f"CSV export of {csv_runs[0]['rows']:,} bars ({csv_runs[0]['mb']:.0f} MB): "
          f"{med(csv_runs, 'rows_per_s'):,.0f} rows/s, {med(csv_runs, 'seconds'):.2f} s, "
          f"peak memory growth {med(csv_runs, 'growth_mb'):.1f} MB over {med(csv_runs, 'at_rest_mb'):.0f} MB at rest "
          f"(median of {args.repeat})")
    print(f"Chart of {args.chart_rows:,} bars (htmx fragment): median {med(chart_runs, 'chart_ms'):.1f} ms, "
          f"SVG {chart_runs[0]['svg_kb']:.0f} KB; full series page {med(chart_runs, 'page_ms'):.0f} ms")
    if baseline_runs:
        print(f"  baseline {args.baseline_tree} in the same run: median {med(baseline_runs, 'chart_ms'):.1f} ms, "
              f"SVG {baseline_runs[0]['svg_kb']:.0f} KB; full series page {med(baseline_runs, 'page_ms'):.0f} ms")
    print(f"Parquet export of {args.rows:,} bars: {parquet['seconds']:.2f} s, {parquet['rows_per_s']:,.0f} rows/s, "
          f"{parquet['mb']:.1f} MB")


if __name__ == "__main__":
    main()
