"""`python -m collector watchlist ...`: plain messages, exit 2 on bad input, never a traceback."""

import json

import pytest

from tests.test_cli import run

ADD = ["watchlist", "add", "--name", "tech", "--symbols", "AAPL,MSFT", "--source", "sim", "--interval", "1d",
       "--period", "1mo"]


def test_add_list_run_pause_resume_delete(settings, db, tmp_path):
    added = run(settings, *ADD, "--schedule", "every", "--every-minutes", "30", "--market-hours-only")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "1" and "2 symbols, next run" in added.stderr
    csv = tmp_path / "list.csv"
    csv.write_text("symbol\nIBM\n")
    from_csv = run(settings, "watchlist", "add", "--name", "one", "--csv", str(csv), "--source", "sim",
                   "--interval", "1d", "--start", "2024-01-01", "--schedule", "none", "--json")
    assert json.loads(from_csv.stdout)["symbols"] == ["IBM"]
    listing = json.loads(run(settings, "watchlist", "list", "--json").stdout)
    assert [w["name"] for w in listing] == ["one", "tech"] and listing[1]["next_run"]
    assert "Every 30 minutes while XNYS is open" in run(settings, "watchlist", "list").stdout
    started = run(settings, "watchlist", "run", "tech")
    assert started.returncode == 0 and started.stdout.strip() == "run #1 of tech: 2 jobs submitted"
    assert "paused" in run(settings, "watchlist", "pause", "TECH").stdout
    assert "resumed: next run" in run(settings, "watchlist", "resume", "1").stdout
    deleted = run(settings, "watchlist", "delete", "tech")
    assert deleted.returncode == 0 and "2 waiting jobs cancelled" in deleted.stdout


@pytest.mark.parametrize("args, fragment", [
    (["watchlist"], "required: ACTION"),
    (["watchlist", "add", "--name", "x"], "required"),
    (ADD + ["--every-minutes", "0", "--schedule", "every"], "--every-minutes:"),
    (ADD[:5] + ["A$,B%"] + ADD[6:], "--symbols: 2 symbols refused"),
    (ADD + ["--schedule", "cron", "--cron", "bad"], "--cron:"),
    (ADD + ["--calendar", "NOPE"], "--calendar:"),
    (ADD + ["--option", "nonsense"], "NAME=VALUE"),
    (["watchlist", "run", "nope"], "there is no watchlist 'nope'"),
    (["watchlist", "add", "--name", "x", "--csv", "/nonexistent.csv", "--source", "sim", "--interval", "1d",
      "--period", "1y"], "can't open"),
])
def test_bad_input_exits_2_with_a_plain_message(settings, db, args, fragment):
    result = run(settings, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr
