"""How a URL names a stored series: /data/<source>/<symbol>/<interval>?kind=trades (kind
optional when the series has one kind). Shared by the data pages and the data actions."""

from __future__ import annotations

from flask import abort, request, url_for
from werkzeug.routing import BaseConverter

from collector import N_, SOURCES, Series, shown, source_label, upper_ascii

from . import services

SERIES = "/data/<source>/<path:symbol>/<interval:interval>"


class IntervalConverter(BaseConverter):
    """An interval name (1d, 5m, 1mo...), so '1d.csv' is an export and not an interval."""

    regex = r"[0-9]{1,3}(?:s|m|h|d|w|mo)"


def series_url(s: Series, endpoint: str = "data.series", **values) -> str:
    return url_for(endpoint, source=s.source, symbol=s.symbol, interval=s.interval, kind=s.kind, **values)


def job_series_url(job, endpoint: str = "data.series", **values) -> str:
    """The series a job wrote (or writes), from the job's own fields."""
    return url_for(endpoint, source=job.source, symbol=job.symbol, interval=job.interval, kind=job.kind, **values)


def find_series(source: str, symbol: str, interval: str) -> Series:
    """The series the URL names, or a 404 that says what is stored instead."""
    if source not in SOURCES:
        abort(404, N_("Unknown source {source!r}: sources are {choices}.", source=shown(source),
                      choices=", ".join(SOURCES)))
    symbol = upper_ascii(symbol)
    kind = (request.values.get("kind") or "").strip().lower()
    found = services.get().series.find(source, symbol, interval)
    said = dict(symbol=symbol, interval=interval, source=source_label(source))
    if not found:
        abort(404, N_("No {symbol} {interval} bars from {source} are stored. See /data for the series there are.",
                      **said))
    if kind:
        for s in found:
            if s.kind == kind:
                return s
        abort(404, N_("No {kind} {symbol} {interval} bars from {source} are stored; kinds stored: {kinds}.",
                      kind=shown(kind), kinds=", ".join(s.kind for s in found), **said))
    return next((s for s in found if s.kind == "trades"), found[0])
