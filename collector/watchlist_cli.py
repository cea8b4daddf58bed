"""`python -m collector watchlist add|list|run|pause|resume|delete`.

Arguments are the watchlist form's fields; bad ones print the field and its message and
exit 2, as `submit` does. Nothing heavy is imported until a command runs (the health check
shares this parser and must stay light)."""

from __future__ import annotations

import argparse
import json
import sys

from .cli_options import source_options

ACTIONS = ("run", "pause", "resume", "delete")


def add_parser(sub) -> None:
    watch = sub.add_parser("watchlist", help="keep a set of series current on a schedule")
    actions = watch.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a watchlist and print its id")
    add.add_argument("--name", required=True)
    symbols = add.add_mutually_exclusive_group(required=True)
    symbols.add_argument("--symbols", help="tickers separated by commas or spaces")
    symbols.add_argument("--csv", type=argparse.FileType("rb"), help="a CSV file with a symbol column")
    add.add_argument("--source", required=True, help="yahoo, ibkr or sim")
    add.add_argument("--interval", required=True)
    first = add.add_mutually_exclusive_group(required=True)
    first.add_argument("--period", help="how far back the first run goes: 1d 5d 1mo ... max")
    first.add_argument("--start", help="or from this date (ISO)")
    add.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="source option")
    add.add_argument("--schedule", default="after_close", help="after_close (default), every, cron or none")
    add.add_argument("--calendar", help="exchange calendar (default XNYS)")
    add.add_argument("--offset-minutes", help="after_close: minutes after the close (default 30)")
    add.add_argument("--every-minutes", help="every: N minutes")
    add.add_argument("--market-hours-only", action="store_true", help="every: only while the exchange is open")
    add.add_argument("--cron", help="cron: 5 fields, e.g. '0 18 * * 1-5'")
    add.add_argument("--timezone", help="cron: time zone (default UTC)")
    add.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="every watchlist with its schedule and next run")
    listing.add_argument("--json", action="store_true")
    for action in ACTIONS:
        one = actions.add_parser(action, help=f"{action} a watchlist (by name or id)")
        one.add_argument("watchlist", help="name or id")


def run(args, services, parser) -> int:
    if args.action == "add":
        return _add(args, services, parser)
    if args.action == "list":
        return _list(args, services)
    watchlists = services.watchlists
    found = watchlists.find(args.watchlist)
    if found is None:
        names = ", ".join(w.name for w in watchlists.list()) or "none yet"
        print(f"mdc: there is no watchlist {args.watchlist!r} (watchlists: {names})", file=sys.stderr)
        return 2
    if args.action == "run":
        view = watchlists.run_now(found.id)
        refused = len(view.run.problems or {})
        print(f"run #{view.run.number} of {found.name}: "
              + (f"{view.active:,} jobs submitted" + (f", {refused:,} symbols refused" if refused else "")
                 if view.run.status == "STARTED" else view.run.note))
    elif args.action == "pause":
        watchlists.pause(found.id)
        print(f"{found.name} paused: no scheduled runs until resumed (a run in progress finishes)")
    elif args.action == "resume":
        watchlists.resume(found.id)
        print(f"{found.name} resumed: next run {_when(watchlists.next_run(watchlists.get(found.id)))}")
    else:
        deleted = watchlists.delete(found.id)
        print(f"{found.name} deleted: {deleted.cancelled:,} waiting jobs cancelled, {deleted.stopping:,} running "
              "jobs stop after their current chunk; stored bars are kept")
    return 0


def _add(args, services, parser) -> int:
    from collector.jobs import ValidationError
    from collector.schedules import symbols_from_csv

    options = source_options(args.option, parser)
    try:
        symbols = symbols_from_csv(args.csv.read()) if args.csv else args.symbols
        fields = {"name": args.name, "symbols": symbols, "source": args.source, "interval": args.interval,
                  "period": args.period, "start": args.start, "options": options, "schedule": args.schedule,
                  "calendar": args.calendar, "offset_minutes": args.offset_minutes,
                  "every_minutes": args.every_minutes, "market_hours_only": args.market_hours_only,
                  "cron": args.cron, "timezone": args.timezone}
        watchlist = services.watchlists.create(fields)
    except ValidationError as exc:
        for name, message in exc.errors.items():
            flag = "--csv" if name == "symbols_file" else "--" + name.replace("_", "-")
            print(f"mdc: {flag}: {message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"id": watchlist.id, "name": watchlist.name, "symbols": watchlist.symbols}))
    else:
        print(watchlist.id)
        print(f"{watchlist.name}: {len(watchlist.symbols):,} symbol{'' if len(watchlist.symbols) == 1 else 's'}, next run "
              f"{_when(services.watchlists.next_run(watchlist))}", file=sys.stderr)
    return 0


def _list(args, services) -> int:
    watchlists = services.watchlists
    rows = []
    for w in watchlists.list():
        schedule, next_run = watchlists.schedule(w), watchlists.next_run(w)
        rows.append({"id": w.id, "name": w.name, "symbols": len(w.symbols), "source": w.source,
                     "interval": w.interval, "schedule": schedule.describe(), "paused": w.paused,
                     "next_run": next_run.isoformat().replace("+00:00", "Z") if next_run else None})
    if args.json:
        print(json.dumps(rows))
    for row in rows if not args.json else []:
        state = "paused" if row["paused"] else f"next run {_when(row['next_run'])}"
        symbols = "symbol " if row["symbols"] == 1 else "symbols"
        print(f"{row['id']:>4}  {row['name']:<20} {row['symbols']:>5,} {symbols}  {row['source']} {row['interval']}  "
              f"{row['schedule']} — {state}")
    if not rows and not args.json:
        print("no watchlists yet: python -m collector watchlist add --help")
    return 0


def _when(value) -> str:
    if value is None:
        return "none (paused or no schedule)"
    text = value if isinstance(value, str) else value.isoformat()
    return text.replace("+00:00", "Z").replace("T", " ")
