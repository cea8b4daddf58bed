"""Jobs that collect only what a stored series lacks: update to now, fill its gaps, or
trim a request to the parts not stored yet ("only what is missing")."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd

from collector import calendar
from collector.i18n import N_, join_messages
from collector.sources import Source, source_label
from collector.store import Series, SeriesStore
from collector.store.gaps import fill_ranges, method_for
from collector.timespec import interval_seconds, is_intraday

from .validation import JobSpec, ValidationError, build_spec

MAX_FILL_JOBS = 20
# A job that continues a series fetches its last stored bars again: the newest may have been
# unfinished when stored, the ones before it must come back unchanged (the overlap check).
OVERLAP_BARS = 3
# Options that only steer a test or a demo, never what the bars are.
_NOT_COPIED = ("fail",)

GetSource = Callable[[str], Source]
_EMPTY = N_("The series holds no bars: collect it from the Collect page.")


def options_for(store: SeriesStore, series: Series) -> dict[str, Any]:
    """How to ask the source again for the same kind of bars: the options of the newest job
    that wrote the series, or what its kind implies when no job is left (cleanup)."""
    options = store.latest_options(series)
    if options is not None:
        return {k: v for k, v in options.items() if k not in _NOT_COPIED}
    if series.source == "yahoo":
        return {"adjusted": series.kind == "adjusted"}
    if series.source == "ibkr":
        return {"what_to_show": series.kind.upper()}
    return {"kind": series.kind} if series.kind != "trades" else {}


def spec_for(store: SeriesStore, series: Series, start: int, end: int | None, get_source: GetSource) -> JobSpec:
    """A validated job for [start, end) of the series (end None: up to now)."""
    fields = {"source": series.source, "interval": series.interval, "start": _iso(start),
              "end": _iso(end) if end is not None else "", "options": options_for(store, series)}
    spec = build_spec(fields, series.symbol, get_source)
    if spec.kind != series.kind:
        raise ValidationError({"kind": N_("Cannot tell how to ask {source} for {kind} bars again.",
                                          source=source_label(series.source), kind=series.kind)})
    return spec


class AlreadyCurrent(ValidationError):
    """Nothing newer than the last stored bar can exist yet: an update would fetch nothing."""


def update_spec(store: SeriesStore, series: Series, get_source: GetSource) -> JobSpec:
    """From the last stored bars (collected again: the newest may have been unfinished, the
    others are checked against what the source sends now) to now; AlreadyCurrent when no newer
    bar can exist yet."""
    if series.last_ts is None:
        raise ValidationError({"series": _EMPTY})
    now = int(datetime.now(timezone.utc).timestamp())
    if is_current(series, now):
        raise AlreadyCurrent({"series": N_("{symbol} {interval} is already current: no bar after the last one "
                                           "stored ({last}) has started yet.", symbol=series.symbol,
                                           interval=series.interval, last=_iso(series.last_ts))})
    return spec_for(store, series, store.tail_start(series.id, OVERLAP_BARS), None, get_source)


def recollect_spec(store: SeriesStore, series: Series, get_source: GetSource) -> JobSpec:
    """The whole series again, from its first bar (or the oldest the source still serves) to now."""
    if series.first_ts is None:
        raise ValidationError({"series": _EMPTY})
    start = series.first_ts
    oldest = getattr(get_source(series.source), "earliest", None)
    if oldest is not None:
        start = max(start, int(oldest(series.interval).timestamp()))
    return spec_for(store, series, start, None, get_source)


def update_or_backfill(series: Series | None, fields: dict[str, Any], symbol: str,
                       get_source: GetSource, tail_start: int | None = None) -> JobSpec:
    """Bring one series up to date: from its last stored bars (`tail_start`, SeriesStore's
    tail_start with OVERLAP_BARS: collected again, the newest may have been unfinished and
    the others are checked against what the source sends now) to now, or, when nothing is
    stored yet, over the period or from the start in `fields` (a watchlist's first run backfills)."""
    if series is not None and series.last_ts is not None:
        start = series.last_ts if tail_start is None else min(tail_start, series.last_ts)
        fields = {**fields, "period": "", "start": _iso(start), "end": ""}
    return build_spec(fields, symbol, get_source)


def is_current(series: Series, now: int) -> bool:
    """True when no bar after the last stored one can have started by `now`: the next one
    is still in the future, or the market has not traded since (nights, weekends, holidays)."""
    after = series.last_ts + interval_seconds(series.interval)
    if after > now:
        return True
    method = method_for(series.source, series.symbol, series.interval)
    if method == "sim":
        start, end = pd.Timestamp(after, unit="s", tz="UTC"), pd.Timestamp(now, unit="s", tz="UTC")
        return calendar.sim_bar_times(series.interval, start, end).size == 0
    if method == "nyse" and is_intraday(series.interval):
        return not calendar.trading_windows(_dt(after), _dt(now))
    if method == "nyse":  # daily bars: a session that opened after the last stored day
        _days, opens, _closes = calendar.sessions(after, now)
        return not (opens <= now).any()
    return False


def fill_specs(store: SeriesStore, series: Series, get_source: GetSource) -> tuple[list[JobSpec], dict[str, str]]:
    """Jobs covering the series' gaps, and messages for the ranges a source refuses
    (for example 1-minute bars older than Yahoo keeps)."""
    specs, problems = [], {}
    for start, end in fill_ranges(store.gaps(series), MAX_FILL_JOBS):
        try:
            specs.append(spec_for(store, series, start, end, get_source))
        except ValidationError as exc:
            problems[f"{_iso(start)} – {_iso(end)}"] = join_messages(exc.errors.values())
    return specs, problems


def missing_specs(store: SeriesStore, spec: JobSpec) -> list[JobSpec]:
    """`spec` cut down to what its series does not hold yet: before the first stored bar,
    the gaps inside the asked range, and from the last stored bar on. [] if nothing is missing."""
    found = store.find(spec.source, spec.symbol, spec.interval, spec.kind)
    if not found or found[0].first_ts is None:
        return [spec]
    series = found[0]
    lo, hi = int(spec.start.timestamp()), int(spec.end.timestamp())
    ranges = []
    if lo < series.first_ts:
        ranges.append((lo, min(hi, series.first_ts)))
    for gap_lo, gap_hi in fill_ranges(store.gaps(series), MAX_FILL_JOBS):
        if gap_lo < hi and gap_hi > lo:
            ranges.append((max(lo, gap_lo), min(hi, gap_hi)))
    tail = series.last_ts + interval_seconds(spec.interval)
    if hi > tail:
        ranges.append((max(lo, store.tail_start(series.id, OVERLAP_BARS)), hi))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        elif b > a:
            merged.append((a, b))
    return [dataclasses.replace(spec, start=_dt(a), end=_dt(b), period=None,
                                end_is_now=spec.end_is_now and b == hi) for a, b in merged]


def _iso(epoch: int) -> str:
    return _dt(epoch).isoformat().replace("+00:00", "Z")


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)
