"""Command line: `python -m collector run|check|submit|cleanup|migrate|watchlist`.

Bad arguments print usage and exit 2; settings errors, unreachable servers and bad job
fields print a plain message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import redis

from . import watchlist_cli
from .cli_options import source_options
from .parse import parse_whole
from .settings import Settings, SettingsError
from .timespec import INTERVALS, PERIODS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m collector", description="mdc collector")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one collector process until stopped")
    run.add_argument("--name", help="consumer name (default {hostname}:{pid})")
    run.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    check = sub.add_parser("check", help="exit 0 when a collector is alive (for health checks), else 1")
    check.add_argument("--self", dest="own", action="store_true",
                       help="this collector, named by MDC_COLLECTOR_NAME (e.g. {hostname}), not any collector")
    sub.add_parser("migrate", help="create or upgrade the database schema")

    submit = sub.add_parser("submit", help="queue a job and print its id")
    submit.add_argument("--source", required=True, help="yahoo, ibkr or sim")
    submit.add_argument("--symbol", required=True, help="ticker, or several separated by commas")
    submit.add_argument("--interval", required=True, help=" ".join(INTERVALS))
    when = submit.add_mutually_exclusive_group(required=True)
    when.add_argument("--period", help=" ".join(PERIODS))
    when.add_argument("--start", help="ISO date or datetime, UTC unless a zone is given")
    submit.add_argument("--end", help="ISO date or datetime (default: now)")
    submit.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="source option, e.g. adjusted=true or what_to_show=MIDPOINT")
    submit.add_argument("--json", action="store_true", help="print the jobs as JSON")

    clean = sub.add_parser("cleanup", help="remove finished jobs older than N days")
    clean.add_argument("--days", type=_days, default=None, help="default MDC_RETENTION_DAYS (7); 0 needs --yes")
    clean.add_argument("--yes", action="store_true", help="confirm --days 0 (every finished job)")
    watchlist_cli.add_parser(sub)
    return parser


def _days(text: str) -> int:
    value = parse_whole(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (0 or more)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"mdc: {exc}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args, settings, parser)
    except redis.RedisError as exc:
        print(f"mdc: cannot reach Redis at {settings.redis_url}: {exc}", file=sys.stderr)
        return 1


def cmd_run(args, settings: Settings, _parser) -> int:
    from .worker import Collector, configure_logging

    collector = Collector(settings, name=args.name)
    configure_logging(collector.name, args.log_level)
    if not _database_answers(collector.services.db, settings, logging.getLogger("mdc.db").warning):
        return 1
    collector.services.db.migrate()
    collector.install_signal_handlers()
    collector.run(burst=args.burst)
    return 0


def cmd_check(args, settings: Settings, _parser) -> int:
    from .queue.client import redis_client
    from .queue.registry import Registry

    client = redis_client(settings.redis_url, "cli")
    registry = Registry(client, settings.key_prefix, ttl_seconds=settings.heartbeat_ttl_seconds)
    if args.own:
        return _check_self(registry, settings)
    live = registry.live_count()
    print(f"{live} collector{'s' * (live != 1)} alive")
    return 0 if live else 1


def _check_self(registry, settings: Settings) -> int:
    """A container's health check: its own collector's heartbeat, so a hung (or SIGSTOPped)
    collector turns unhealthy even while its peers beat."""
    if not settings.collector_name or "{pid}" in settings.collector_name:
        print("mdc: check --self needs a name this process can know: set MDC_COLLECTOR_NAME "
              "(e.g. {hostname}, as compose does)", file=sys.stderr)
        return 2
    name = settings.consumer_name
    if registry.alive(name):
        print(f"collector {name} alive (last beat {registry.silent_for(name):.1f} s ago)")
        return 0
    print(f"collector {name} has not beaten for {settings.heartbeat_ttl_seconds:g} s: hung, stopped or not started")
    return 1


def cmd_migrate(_args, settings: Settings, _parser) -> int:
    from .store import Database

    db = Database(settings.sqlalchemy_url)
    if not _database_answers(db, settings, lambda line: print(f"mdc: {line}", file=sys.stderr, flush=True)):
        return 1
    db.migrate()
    print("database schema is up to date")
    return 0


def _database_answers(db, settings: Settings, say) -> bool:
    """Wait for the database (PostgreSQL starting with us); False, said plainly, if it never does."""
    from .store.wait import DatabaseUnreachable, wait_for_database

    try:
        wait_for_database(db, settings.db_wait_seconds, say)
    except DatabaseUnreachable as exc:
        print(f"mdc: {exc}", file=sys.stderr, flush=True)
        return False
    return True


def cmd_submit(args, settings: Settings, parser) -> int:
    from .jobs.validation import ValidationError

    options = source_options(args.option, parser)
    fields = {"source": args.source, "symbol": args.symbol, "interval": args.interval,
              "period": args.period, "start": args.start, "end": args.end, "options": options}
    manager = _manager(settings)
    try:
        results = manager.submit(fields)
    except ValidationError as exc:
        for name, message in exc.errors.items():
            flag = f"--{name}" if name in vars(args) else name
            print(f"mdc: {flag}: {message}", file=sys.stderr)
        return 2
    for result in results:
        if args.json:
            print(json.dumps({"id": result.job.id, "created": result.created, "queued": result.queued}))
        else:
            print(result.job.id)
        if not result.created:
            print(f"job {result.job.id} for {result.job.symbol} was already {result.job.status.lower()}; "
                  "not submitted twice", file=sys.stderr)
        elif not result.queued:
            print(f"job {result.job.id} saved; it will start when Redis is reachable again", file=sys.stderr)
    return 0


def cmd_cleanup(args, settings: Settings, _parser) -> int:
    from .jobs.validation import ValidationError

    try:
        print(_manager(settings).cleanup(args.days, confirm=args.yes).summary())
    except ValidationError as exc:
        print(f"mdc: --days: {exc.errors['days']}", file=sys.stderr)
        return 2
    return 0


def cmd_watchlist(args, settings: Settings, parser) -> int:
    return watchlist_cli.run(args, _services(settings), parser)


def _manager(settings: Settings):
    return _services(settings).jobs


def _services(settings: Settings):
    from .services import connect

    services = connect(settings, "cli")
    services.db.migrate()
    return services


COMMANDS = {"run": cmd_run, "check": cmd_check, "migrate": cmd_migrate, "submit": cmd_submit,
            "cleanup": cmd_cleanup, "watchlist": cmd_watchlist}

if __name__ == "__main__":
    sys.exit(main())
