"""Turn what a person typed for a watchlist (form, curl, CLI) into a WatchlistSpec, or into
messages keyed by field name. Symbols, source, interval, options and the first run's period
or start follow the collect form's rules (jobs.validation); every bad symbol is named."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from collector import calendar
from collector.i18n import N_, Message, N_plural, join_messages
from collector.jobs.validation import ValidationError, build_spec, check_symbol, estimated_bars, split_symbols
from collector.parse import YES_NO_HELP, parse_bool, parse_whole
from collector.sources import Source
from collector.timespec import shown

from .cron_fields import cron_fields
from .timing import KINDS, Schedule

MAX_SYMBOLS = 2000
MAX_NAME = 64
DEFAULT_SCHEDULE = "after_close"
_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
# How messages name the schedule's fields (as the form labels them).
FIELD_NAMES = {"offset_minutes": N_("Minutes after the close"), "every_minutes": N_("Every how many minutes"),
               "market_hours_only": N_("Only while the exchange is open")}


@dataclass(frozen=True)
class WatchlistSpec:
    name: str
    symbols: list[str]
    source: str
    interval: str
    kind: str
    options: dict[str, Any]
    period: str | None
    start: datetime | None
    schedule: dict[str, Any] = field(default_factory=dict)  # Schedule's fields but minute_s


def validate(fields: Mapping[str, Any], get_source: Callable[[str], Source], *,
             max_bars: int | None = None) -> WatchlistSpec:
    """A watchlist from form-like fields; ValidationError naming every field that is wrong.
    With `max_bars` (MDC_MAX_BARS_PER_SUBMIT), its first run, which backfills every symbol,
    may ask for no more bars than one submit."""
    errors: dict[str, str] = {}
    name = " ".join(str(fields.get("name") or "").split())
    if not name:
        errors["name"] = N_("Give the watchlist a name, for example tech.")
    elif len(name) > MAX_NAME or not _NAME_RE.match(name):
        errors["name"] = N_("A name has at most {most} characters, without control characters.", most=MAX_NAME)
    symbols = split_symbols(str(fields.get("symbols") or ""))
    checked = _check_symbols(symbols, errors)
    spec = _job_part(fields, checked[0] if checked else "AAPL", get_source, errors)
    schedule = schedule_from(fields, errors)
    if spec is not None and checked and "symbols" not in errors:
        _source_symbol_errors(fields, checked[1:], get_source, errors)
    if spec is not None and max_bars is not None and "period" not in errors:
        _check_backfill(estimated_bars(spec) * len(checked), len(checked), max_bars, errors)
    if errors or spec is None:
        raise ValidationError(errors)
    return WatchlistSpec(name=name, symbols=checked, source=spec.source, interval=spec.interval, kind=spec.kind,
                         options=spec.options, period=spec.period, start=None if spec.period else spec.start,
                         schedule=schedule)


def _check_backfill(bars: int, symbols: int, most: int, errors: dict[str, str]) -> None:
    if bars > most:
        errors["period"] = N_plural(
            "Its first run would ask for about {bars} bars ({n} symbol, the whole period divided by the interval); "
            "a run may ask for at most {most} (MDC_MAX_BARS_PER_SUBMIT): choose fewer symbols, a shorter period "
            "or a longer interval.",
            "Its first run would ask for about {bars} bars ({n} symbols, the whole period divided by the interval); "
            "a run may ask for at most {most} (MDC_MAX_BARS_PER_SUBMIT): choose fewer symbols, a shorter period "
            "or a longer interval.", symbols, bars=bars, most=most)


def _check_symbols(symbols: list[str], errors: dict[str, str]) -> list[str]:
    if not symbols:
        errors["symbols"] = N_("Enter at least one ticker symbol: separated by commas, spaces or new lines.")
        return []
    if len(symbols) > MAX_SYMBOLS:
        errors["symbols"] = N_("At most {most} symbols in a watchlist; got {got}.", most=MAX_SYMBOLS,
                               got=len(symbols))
        return []
    bad = {s: check_symbol(s) for s in symbols if check_symbol(s)}
    if bad:
        errors["symbols"] = symbol_errors(bad)
    return [s for s in symbols if s not in bad]


def symbol_errors(bad: Mapping[str, str]) -> str:
    """One message naming every refused symbol (the first 20) with its reason, symbols with
    the same reason together: "3 symbols refused — 'A$', '%%' is not a ticker symbol: ... · 'ZZ': ..."."""
    groups: dict[tuple, tuple[str, list[str]]] = {}
    for symbol, reason in list(bad.items())[:20]:
        groups.setdefault(_reason_key(reason, symbol), (reason, []))[1].append(symbol[:40])
    said = [_for_all(reason, names) for reason, names in groups.values()]
    if len(bad) > 20:
        head = N_plural("{n} symbol refused (and {more} more)", "{n} symbols refused (and {more} more)", len(bad),
                        more=len(bad) - 20)
    else:
        head = N_plural("{n} symbol refused", "{n} symbols refused", len(bad))
    return N_("{head} — {reasons}", head=head, reasons=join_messages(said, " · "))


class _Names(str):
    """Several symbols standing where a message names one as {symbol!r}: 'A$', '%%'."""

    def __repr__(self) -> str:
        return str(self)


def _names_in(reason: str, symbol: str) -> bool:
    return isinstance(reason, Message) and reason.params.get("symbol") == shown(symbol)


def _reason_key(reason: str, symbol: str) -> tuple:
    """Reasons that differ only by the symbol they name are one reason."""
    if _names_in(reason, symbol):
        return (reason.msgid, tuple(sorted((k, str(v)) for k, v in reason.params.items() if k != "symbol")))
    return (str(reason).replace(repr(symbol), "\0"),)


def _for_all(reason: str, names: list[str]) -> str:
    quoted = ", ".join(repr(name) for name in names)
    if _names_in(reason, names[0]):
        return Message(reason.msgid, {**reason.params, "symbol": _Names(quoted)}, plural=reason.plural, n=reason.n)
    if isinstance(reason, Message) or repr(names[0]) not in reason:
        return N_("{symbols}: {reason}", symbols=quoted, reason=reason)
    return reason.replace(repr(names[0]), quoted)


def _job_part(fields: Mapping[str, Any], symbol: str, get_source, errors: dict[str, str]):
    """Source, interval, options and how far back, checked as a job for one symbol."""
    job_fields = {"source": fields.get("source"), "interval": fields.get("interval"),
                  "period": fields.get("period"), "start": fields.get("start"), "end": "",
                  "options": fields.get("options") or {}}
    try:
        return build_spec(job_fields, symbol, get_source)
    except ValidationError as exc:
        for key, message in exc.errors.items():
            errors.setdefault("symbols" if key == "symbol" else key, message)
    return None


def _source_symbol_errors(fields, symbols: list[str], get_source, errors: dict[str, str]) -> None:
    """What the source itself says about each further symbol (its own spelling rules)."""
    bad = {}
    for symbol in symbols:
        try:
            _job_part_strict(fields, symbol, get_source)
        except ValidationError as exc:
            bad[symbol] = join_messages(exc.errors.values())
    if bad:
        errors["symbols"] = symbol_errors(bad)


def _job_part_strict(fields, symbol: str, get_source) -> None:
    errors: dict[str, str] = {}
    _job_part(fields, symbol, get_source, errors)
    if errors:
        raise ValidationError(errors)


def schedule_from(fields: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The schedule's fields, checked as far as its kind needs them."""
    kind = str(fields.get("schedule") or DEFAULT_SCHEDULE).strip().lower()
    if kind not in KINDS:
        errors["schedule"] = N_("Unknown schedule {kind!r}: choose {choices}.", kind=shown(kind),
                                choices=", ".join(KINDS))
        return {}
    out = asdict(Schedule(kind=kind))
    out.pop("minute_s")
    cal = str(fields.get("calendar") or calendar.DEFAULT_CALENDAR)
    out["calendar"] = calendar.resolve_calendar(cal)  # also what "current" is measured against
    if out["calendar"] is None:
        errors["calendar"] = N_("Unknown exchange calendar {name!r}: use a pandas-market-calendars name such as "
                                "XNYS, NASDAQ, XLON, XPAR, XTKS or CME_Equity.", name=shown(cal))
    if kind == "after_close":
        out["offset_minutes"] = _whole(fields, "offset_minutes", 30, 0, 1440, errors)
    elif kind == "every":
        out["every_minutes"] = _whole(fields, "every_minutes", None, 1, 1440, errors)
        out["market_hours_only"] = _yes(fields, "market_hours_only", errors)
    elif kind == "cron":
        out["cron"], out["timezone"] = cron_fields(fields, errors)
    return out


def _whole(fields, name: str, default: int | None, lo: int, hi: int, errors: dict[str, str]) -> int:
    raw = str(fields.get(name) if fields.get(name) is not None else "").strip()
    value = default if raw == "" else parse_whole(raw)
    if value is None or not lo <= value <= hi:
        errors[name] = N_("{field} must be a whole number from {lo} to {hi}.", field=FIELD_NAMES[name], lo=lo, hi=hi)
        return default or lo
    return value


def _yes(fields, name: str, errors: dict[str, str]) -> bool:
    value = parse_bool(fields.get(name), empty=False)
    if value is None:
        errors[name] = N_("{field} must be {yes_no}.", field=FIELD_NAMES[name], yes_no=YES_NO_HELP)
        return False
    return value


def symbols_from_csv(data: bytes | str) -> str:
    """The `symbol` column of a CSV file, as the text a person would paste; ValidationError
    (field symbols_file) when the file is not a CSV with that column."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValidationError({"symbols_file": N_("The file is not a readable CSV ({error}).", error=exc)}) from None
    if not rows:
        raise ValidationError({"symbols_file": N_("The CSV file is empty: it needs a header row with a symbol "
                                                  "column.")})
    header = [h.strip().lower() for h in rows[0]]
    if "symbol" not in header:
        found = ", ".join(h[:20] for h in header[:8] if h) or N_("nothing")
        raise ValidationError({"symbols_file": N_("The CSV has no 'symbol' column (its header has: {found}).",
                                                  found=found)})
    column = header.index("symbol")
    return "\n".join(row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip())
