"""Server time of the live UI with 100,000 jobs in the database.

    python bench/ui_partials.py [--jobs 100000] [--requests 300]

Fills a fresh SQLite database with jobs in every state (a few active, the rest finished),
starts a private valkey-server, and times the banner partial and the Running and All tabs
(full page and htmx fragment) through Flask's test client: p50 and p99 in milliseconds.
Then a 500-symbol watchlist is run (its 500 jobs pending) and the banner, which shows the
run as one line, and the watchlist's page are timed again. The banner and the Running tab are
also timed in French (Accept-Language: fr; the English lines are the baseline of the same run).
Target: banner p99 <= 10 ms in either language.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector import connect  # noqa: E402
from collector.embedded import EmbeddedRedis, free_port  # noqa: E402
from collector.settings import Settings  # noqa: E402
from collector.store.db import Database  # noqa: E402
from collector.store.models import Job  # noqa: E402
from collector.timespec import utcnow  # noqa: E402
from webapp import create_app  # noqa: E402


def fill(db: Database, n: int) -> None:
    rng = random.Random(1)
    now = utcnow()
    states = ["COMPLETED"] * 80 + ["FAILED"] * 12 + ["CANCELLED"] * 8
    rows = []
    for i in range(n):
        created = now - timedelta(seconds=(n - i) * 6)
        status = "RUNNING" if i >= n - 3 else ("PENDING" if i >= n - 8 else rng.choice(states))
        finished = created + timedelta(seconds=40) if status not in ("PENDING", "RUNNING") else None
        rows.append(dict(source="sim", symbol=f"S{i % 500}", interval="1m", kind="trades", start=created - timedelta(days=30),
                         end=created, period="1mo", options={}, status=status, progress_done=3, progress_total=7,
                         rows_new=1000, rows_updated=0, rows_unchanged=0, attempts=1, cancel_requested=False,
                         created_at=created, published_at=created, started_at=created + timedelta(seconds=1),
                         finished_at=finished, collector="c1", error="boom" if status == "FAILED" else None,
                         request_key=f"k{i}"))
    with db.write() as session:
        for start in range(0, n, 10_000):
            session.execute(Job.__table__.insert(), rows[start:start + 10_000])


def run_a_watchlist(settings: Settings, db: Database) -> int:
    """A 500-symbol sim watchlist, run once (no collector: its jobs stay pending)."""
    watchlists = connect(settings, db=db).watchlists
    symbols = " ".join(f"S{i}" for i in range(500))
    watchlist = watchlists.create({"name": "bench", "symbols": symbols, "source": "sim", "interval": "1m",
                                   "period": "5d", "schedule": "none"})  # within MDC_MAX_BARS_PER_SUBMIT
    watchlists.run_now(watchlist.id)
    return watchlist.id


def measure(client, url: str, headers: dict, requests: int) -> tuple[float, float]:
    for _ in range(10):
        client.get(url, headers=headers)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = EmbeddedRedis(Path(tmp) / "redis", free_port(), appendonly=False).start()
        try:
            settings = Settings(data_dir=Path(tmp), redis_url=redis_server.url, key_prefix="bench")
            db = Database(settings.sqlalchemy_url)
            db.migrate()
            fill(db, args.jobs)
            app = create_app({"MDC_SETTINGS": settings, "SECRET_KEY": "bench"})
            client = app.test_client()
            hx = {"HX-Request": "true"}
            hx_fr = {**hx, "Accept-Language": "fr"}
            print(f"UI server time with {args.jobs:,} jobs, {args.requests} requests each (ms)")
            for label, url, headers in [("banner partial", "/banner", hx),
                                        ("banner partial, French", "/banner", hx_fr),
                                        ("Running tab, fragment", "/jobs?tab=running", hx),
                                        ("Running tab, French", "/jobs?tab=running", hx_fr),
                                        ("Running tab, full page", "/jobs?tab=running", {}),
                                        ("All tab, fragment", "/jobs?tab=all", hx),
                                        ("All tab, page 2,000", "/jobs?tab=all&page=2000", hx),
                                        ("job detail", f"/jobs/{args.jobs}", {})]:
                p50, p99 = measure(client, url, headers, args.requests)
                print(f"  {label:<27} p50 {p50:6.2f}   p99 {p99:6.2f}")
            watchlist_id = run_a_watchlist(settings, db)
            for label, url, headers in [("banner, a 500-job run", "/banner", hx),
                                        ("banner, the run, French", "/banner", hx_fr),
                                        ("watchlist page, 100 of 500", f"/watchlists/{watchlist_id}", {})]:
                p50, p99 = measure(client, url, headers, args.requests)
                print(f"  {label:<27} p50 {p50:6.2f}   p99 {p99:6.2f}")
        finally:
            redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
