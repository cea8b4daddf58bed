"""`make bench`: every benchmark in turn, each printing its figures next to its baseline.

    python bench/run_all.py [--quick] [--only NAME ...]

--quick runs each with smaller inputs (a smoke run that the scripts still work, in a few
minutes); the figures in bench/README.md come from full runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (script, arguments for a quick run)
BENCHMARKS = {
    "bars_upsert": ("bars_upsert.py", ["--rows", "100000", "--repeat", "1"]),
    "ui_partials": ("ui_partials.py", ["--jobs", "10000", "--requests", "50"]),
    "data_export": ("data_export.py", ["--rows", "100000", "--chart-rows", "50000", "--repeat", "1"]),
    "read_bars": ("read_bars.py", ["--rows", "100000", "--repeat", "1"]),
    "pipeline": ("pipeline.py", ["--jobs", "300", "--rounds", "1"]),
    "long_exports": ("long_exports.py", ["--rows", "300000", "--timeout", "2", "--rate-mb", "2"]),
    "watchlist": ("watchlist.py", ["--symbols", "100", "--rounds", "1"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs: check the scripts, not the figures")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or BENCHMARKS:
        script, quick = BENCHMARKS[name]
        command = [sys.executable, str(HERE / script), *(quick if args.quick else [])]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        if subprocess.run(command).returncode != 0:
            failed.append(name)
        print(f"=== {name}: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
