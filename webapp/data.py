"""Data: the stored series, one series' chart, gaps and latest bars, and CSV/Parquet exports.

Series URLs read /data/<source>/<symbol>/<interval>?kind=trades (kind optional when the
series has one kind). Changing things (update, fill gaps, delete) is in data_actions.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, make_response, render_template, request, url_for
from werkzeug.routing import BaseConverter

from collector.jobs.incremental import series_gaps
from collector.sources import SOURCES, source_label
from collector.store import series as store
from collector.store.models import Series
from collector.timespec import TimeParseError, interval_seconds, is_intraday, parse_when

from . import charts, exports, services
from .errors import wants_json
from .serialize import iso

bp = Blueprint("data", __name__)

PER_PAGE = 50
MAX_PAGE = 100_000
RANGES = {"1d": 1, "1w": 7, "1m": 30, "3m": 91, "1y": 365, "5y": 1826, "all": None}


class IntervalConverter(BaseConverter):
    """An interval name (1d, 5m, 1mo...), so '1d.csv' is an export and not an interval."""

    regex = r"[0-9]{1,3}(?:s|m|h|d|w|mo)"


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters.setdefault("interval", IntervalConverter)


SERIES = "/data/<source>/<path:symbol>/<interval:interval>"


@bp.app_template_global()
def series_url(s: Series, endpoint: str = "data.series", **values) -> str:
    return url_for(endpoint, source=s.source, symbol=s.symbol, interval=s.interval, kind=s.kind, **values)


@bp.app_template_filter()
def utc(epoch) -> str:
    """Epoch seconds -> '2024-03-01 14:30 UTC' ('2024-03-01' at midnight)."""
    if epoch is None:
        return "–"
    when = datetime.fromtimestamp(int(epoch), timezone.utc)
    return when.strftime("%Y-%m-%d") if when.hour == when.minute == when.second == 0 else when.strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter()
def price(value) -> str:
    if value is None:
        return "–"
    text = f"{float(value):,.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


@bp.get("/data")
def index():
    """Every stored series, filtered by symbol and source, sortable."""
    symbol = (request.args.get("symbol") or "").strip().upper()
    source = (request.args.get("source") or "").strip().lower()
    sort = request.args.get("sort") or "symbol"
    descending = request.args.get("dir") == "desc"
    if source and source not in SOURCES:
        abort(422, f"Unknown source {source!r}: use one of {', '.join(SOURCES)}.")
    if sort not in store.SORTS:
        abort(422, f"Unknown sort {sort!r}: use one of {', '.join(store.SORTS)}.")
    rows = store.list_series(services.get().db, symbol=symbol or None, source=source or None,
                             sort=sort, descending=descending)
    if wants_json():
        return {"series": [series_dict(s) for s in rows]}
    return render_template("data/index.html", rows=rows, symbol=symbol, source=source, sort=sort,
                           descending=descending, sources=SOURCES)


@bp.get(SERIES + "/gaps")
def gaps(source: str, symbol: str, interval: str):
    """The gaps of one series: a table cell for the list (htmx), or JSON."""
    s = find_series(source, symbol, interval)
    report = series_gaps(services.get().db, s)
    if wants_json():
        return gaps_dict(report)
    return render_template("data/_gaps_cell.html", s=s, report=report)


@bp.get(SERIES)
def series(source: str, symbol: str, interval: str):
    """One series: facts, chart with a range selector, gaps, exports, latest bars, jobs."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    page = page_arg()
    range_args()  # bad dates are a 422 whatever the answer's format
    if request.args.get("range", "all") not in RANGES:
        abort(422, f"Unknown range {request.args['range']!r}: use one of {', '.join(RANGES)}, or start and end.")
    target = request.headers.get("HX-Target") if request.htmx else None
    if wants_json():
        data = series_dict(s)
        data["gaps"] = gaps_dict(series_gaps(svc.db, s))
        return data
    if target == "bars":
        response = make_response(render_template("data/_bars.html", s=s, bars=store.bars_page(svc.db, s.id, page, PER_PAGE)))
    else:
        chart = chart_context(s)
        if target == "chart":
            response = make_response(render_template("data/_chart.html", s=s, **chart))
        else:
            jobs, jobs_total = store.jobs_for(svc.db, s)
            response = make_response(render_template(
                "data/series.html", s=s, kinds=store.find(svc.db, s.source, s.symbol, s.interval),
                report=series_gaps(svc.db, s), bars=store.bars_page(svc.db, s.id, page, PER_PAGE),
                jobs=jobs, jobs_total=jobs_total, **chart))
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    return response


@bp.get(SERIES + ".csv")
def export_csv(source: str, symbol: str, interval: str):
    """The series (or a date range of it) as CSV, streamed."""
    s = find_series(source, symbol, interval)
    start, end = range_args()
    return exports.csv_response(services.get().db, s, start, end)


@bp.get(SERIES + ".parquet")
def export_parquet(source: str, symbol: str, interval: str):
    """The series (or a date range of it) as Parquet."""
    s = find_series(source, symbol, interval)
    start, end = range_args()
    return exports.parquet_response(services.get().db, s, start, end)


# --- helpers (data_actions uses them too) -----------------------------------------------

def find_series(source: str, symbol: str, interval: str) -> Series:
    """The series the URL names, or a 404 that says what is stored instead."""
    if source not in SOURCES:
        abort(404, f"Unknown source {source!r}: sources are {', '.join(SOURCES)}.")
    symbol = symbol.upper()
    kind = (request.values.get("kind") or "").strip().lower()
    found = store.find(services.get().db, source, symbol, interval)
    what = f"{symbol} {interval} bars from {source_label(source)}"
    if not found:
        abort(404, f"No {what} are stored. See /data for the series there are.")
    if kind:
        for s in found:
            if s.kind == kind:
                return s
        abort(404, f"No {kind} {what} are stored; kinds stored: {', '.join(s.kind for s in found)}.")
    return next((s for s in found if s.kind == "trades"), found[0])


def range_args() -> tuple[int | None, int | None]:
    """start/end query arguments as epoch seconds; 422 when unreadable or inverted.
    A bare end date includes that whole day."""
    bounds = []
    for name, end_of_day in (("start", False), ("end", True)):
        text = (request.args.get(name) or "").strip()
        if not text:
            bounds.append(None)
            continue
        try:
            bounds.append(int(parse_when(text, end_of_day=end_of_day).timestamp()))
        except TimeParseError as exc:
            abort(422, f"{name.capitalize()} {exc}.")
    start, end = bounds
    if start is not None and end is not None and end <= start:
        abort(422, "End must be after start.")
    return start, end


def page_arg() -> int:
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) < 9 else 0
    if not 1 <= page <= MAX_PAGE:
        abort(422, f"Page must be a whole number from 1 to {MAX_PAGE:,}; got {raw!r}.")
    return page


def chart_context(s: Series) -> dict:
    """The range the chart shows (preset or start/end) and the chart itself."""
    chosen = request.args.get("range") or ""
    start, end = range_args()
    if start is None and end is None:
        chosen = chosen or "all"
        days = RANGES[chosen]
        if days is not None and s.last_ts is not None:
            start = s.last_ts + interval_seconds(s.interval) - days * 86400
    else:
        chosen = "custom"
    lo = start if start is not None else (s.first_ts or 0)
    hi = end if end is not None else (s.last_ts or 0) + interval_seconds(s.interval)
    data = charts.load(services.get().db, s.id, s.interval, lo, hi)
    label = f"{s.symbol} {s.interval} {s.kind} ({source_label(s.source)})"
    return {"chart": charts.render(data, label), "chart_data": data, "chosen": chosen, "ranges": RANGES,
            "start_text": request.args.get("start", ""), "end_text": request.args.get("end", ""),
            "intraday": is_intraday(s.interval)}


def series_dict(s: Series) -> dict:
    return {"source": s.source, "symbol": s.symbol, "interval": s.interval, "kind": s.kind,
            "bars": s.bar_count, "first": iso(_dt(s.first_ts)), "last": iso(_dt(s.last_ts)),
            "updated_at": iso(s.updated_at), "url": series_url(s),
            "csv": series_url(s, "data.export_csv"), "parquet": series_url(s, "data.export_parquet")}


def gaps_dict(report) -> dict:
    return {"method": report.method, "description": report.description, "count": report.count,
            "missing": report.missing, "unit": report.unit,
            "largest": [{"start": iso(g.start_dt), "end": iso(g.end_dt), "missing": g.missing}
                        for g in report.largest()]}


def _dt(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)
