"""Turn what a person typed (form fields, curl, CLI flags) into a job request, or into
messages that say what was wrong and what is allowed, keyed by field name."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from collector.i18n import N_, Message
from collector.parse import upper_ascii
from collector.sources import SOURCES, Source
from collector.sources.base import Request
from collector.timespec import INTERVALS, PERIODS, TimeParseError, parse_when, period_start, shown, utcnow

SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=/&]{0,31}$|^\^[A-Z0-9.\-=]{1,31}$")
MAX_SYMBOLS_PER_SUBMIT = 50


class ValidationError(ValueError):
    """Bad input; `errors` maps field names to messages for people (Messages where they were
    marked for translation, so the web app shows them in the reader's language)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class JobSpec:
    """A validated, normalised job request."""

    source: str
    symbol: str
    interval: str
    kind: str
    start: datetime
    end: datetime
    period: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    end_is_now: bool = True

    def request(self) -> Request:
        return Request(self.symbol, self.interval, self.start, self.end, dict(self.options))

    @property
    def request_key(self) -> str:
        """Same key for the same ask: a period or open end counts as 'up to now'."""
        what = {"source": self.source, "symbol": self.symbol, "interval": self.interval,
                "kind": self.kind, "options": self.options,
                "from": self.period or self.start.isoformat(),
                "to": "now" if self.end_is_now else self.end.isoformat()}
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def split_symbols(text: str) -> list[str]:
    """'aapl, msft  nvda' -> ['AAPL', 'MSFT', 'NVDA'], order kept, duplicates dropped. Only ASCII
    is upper-cased: 'ß'.upper() is 'SS', which would quietly ask for another ticker."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;\s]+", text or ""):
        if part:
            seen[upper_ascii(part)] = None
    return list(seen)


def check_symbol(symbol: str) -> Message | None:
    if not symbol:
        return N_("Enter a ticker symbol, for example AAPL.")
    if len(symbol) > 32:
        return N_("A ticker symbol has at most 32 characters.")
    if not symbol.isascii() or not SYMBOL_RE.match(symbol):
        return N_("{symbol!r} is not a ticker symbol: use letters A-Z, digits and . - ^ = / & "
                  "(for example AAPL, BRK.B, ^GSPC, EURUSD=X, ES=F).", symbol=shown(symbol))
    return None


def estimated_bars(spec: JobSpec) -> int:
    """Bars a job asks for at most: its period divided by the interval (closed hours included)."""
    return max(1, int((spec.end - spec.start).total_seconds() // INTERVALS[spec.interval]))


@dataclass
class _Range:
    start: datetime | None = None
    end: datetime | None = None
    end_is_now: bool = True


def build_spec(fields: Mapping[str, Any], symbol: str, get_source: Callable[[str], Source],
               *, now: datetime | None = None) -> JobSpec:
    """Validate one job's fields (symbol given separately); raise ValidationError."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    source_name = str(fields.get("source") or "").strip().lower()
    source = _source(source_name, get_source, errors)
    if (message := check_symbol(symbol)) is not None:
        errors["symbol"] = message
    interval = _interval(str(fields.get("interval") or "").strip(), source, errors)
    period = str(fields.get("period") or "").strip().lower() or None
    span = _range(fields, period, now, errors)
    options: dict[str, Any] = {}
    if source is not None:
        options, option_errors = source.normalize_options(dict(fields.get("options") or {}))
        errors.update(option_errors)
    if errors or source is None or span.start is None or span.end is None:
        raise ValidationError(errors)
    spec = JobSpec(source=source_name, symbol=symbol, interval=interval, kind=source.kind(options),
                   start=span.start, end=span.end, period=period, options=options, end_is_now=span.end_is_now)
    source_errors = source.validate(spec.request())
    if source_errors:
        if period and "start" in source_errors:  # the range came from the period: say it there
            source_errors = {("period" if k == "start" else k): v for k, v in source_errors.items()}
        raise ValidationError(source_errors)
    return spec


def _source(name: str, get_source: Callable[[str], Source], errors: dict[str, str]) -> Source | None:
    if not name:
        errors["source"] = N_("Choose a source: {choices}.", choices=_choices(SOURCES))
    elif name not in SOURCES:
        errors["source"] = N_("Unknown source {name!r}: choose {choices}.", name=name, choices=_choices(SOURCES))
    else:
        return get_source(name)
    return None


def _interval(interval: str, source: Source | None, errors: dict[str, str]) -> str:
    if not interval:
        errors["interval"] = N_("Choose a bar interval, for example 1d or 5m.")
    elif interval not in INTERVALS:
        errors["interval"] = N_("Unknown interval {interval!r}: use one of {choices}.",
                                interval=interval, choices=" ".join(INTERVALS))
    elif source is not None and interval not in source.intervals:
        errors["interval"] = N_("{source} does not offer {interval} bars: choose one of {choices}.",
                                source=source.label, interval=interval, choices=" ".join(source.intervals))
    return interval


def _range(fields: Mapping[str, Any], period: str | None, now: datetime, errors: dict[str, str]) -> _Range:
    """Start and end from a period preset or explicit dates; an end past now means now."""
    start_text = str(fields.get("start") or "").strip()
    end_text = str(fields.get("end") or "").strip()
    span = _Range(end_is_now=not end_text)
    if end_text:
        try:
            span.end = parse_when(end_text, end_of_day=True)
        except TimeParseError as exc:
            errors["end"] = exc.message
    if period and start_text:
        errors["period"] = N_("Give either a period or dates, not both: with period {period} and start {start} "
                              "it is unclear which counts. Dates count with period custom (or no period); "
                              "leave start out to collect the period.", period=period, start=start_text)
    elif period:
        if period not in PERIODS:
            errors["period"] = N_("Unknown period {period!r}: use one of {choices}, or a start date.",
                                  period=period, choices=" ".join(PERIODS))
    elif start_text:
        try:
            span.start = parse_when(start_text)
        except TimeParseError as exc:
            errors["start"] = exc.message
    else:
        errors["period"] = N_("Choose a period ({choices}) or a start date.", choices=" ".join(PERIODS))
    if span.end is None and "end" not in errors:
        span.end = now
    if span.end is not None and span.end > now:
        span.end, span.end_is_now = now, True  # nothing exists after now: "up to a future date" is "up to now"
    if period and "period" not in errors and span.end is not None:
        span.start = period_start(period, span.end)
    if span.start is not None and span.end is not None:
        if span.start > now:
            errors["start"] = N_("Start is in the future: there is no data there yet.")
        elif span.end <= span.start:
            errors["end"] = N_("End must be after start.")
    return span


def _choices(names) -> Message:
    """'yahoo, ibkr or sim', with the reader's word for "or"."""
    names = list(names)
    return N_("{first} or {last}", first=", ".join(names[:-1]), last=names[-1])
