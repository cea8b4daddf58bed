"""Data: the stored series, one series' chart, gaps and latest bars, and CSV/Parquet exports.

Series URLs are described in series_args. Changing things (update, fill gaps, delete) is in
data_actions.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from flask import Blueprint, abort, make_response, render_template, request
from werkzeug.exceptions import UnprocessableEntity

from collector import (
    N_,
    SORTS,
    SOURCES,
    Message,
    Series,
    TimeParseError,
    interval_seconds,
    is_intraday,
    parse_when,
    resample_targets,
    shown,
    source_label,
    upper_ascii,
)

from . import chart_marks, chart_svg, charts, exports, services
from .errors import wants_json
from .i18n import translated
from .jobs_bulk import unknown_source
from .params import page_arg, range_args, transform_args
from .series_args import SERIES, IntervalConverter, find_series, job_series_url, series_url
from .series_json import action_dict, gaps_dict, quality_dict, series_dict

bp = Blueprint("data", __name__)

PER_PAGE = 50  # bars on a series page
SERIES_PER_PAGE = 50
HOUR, DAY = 3600, 86400
# Chart range presets (seconds back from the last bar); a preset shows where it spans 2 bars or more.
RANGES = {"1h": HOUR, "4h": 4 * HOUR, "1d": DAY, "1w": 7 * DAY, "1m": 30 * DAY, "3m": 91 * DAY, "1y": 365 * DAY,
          "5y": 1826 * DAY, "all": None}
# How the range buttons read (French: 1J, 1S, 1A, Tout).
RANGE_LABELS = {"1h": N_("1H"), "4h": N_("4H"), "1d": N_("1D"), "1w": N_("1W"), "1m": N_("1M"), "3m": N_("3M"),
                "1y": N_("1Y"), "5y": N_("5Y"), "all": N_("All")}


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters.setdefault("interval", IntervalConverter)
    state.app.add_template_global(series_url)
    state.app.add_template_global(job_series_url)


@bp.get("/data")
def index():
    """The stored series, a page at a time, filtered by symbol and source, sortable; each with
    its gap counts once known (kept with the series, so the list never reads bars)."""
    symbol = upper_ascii((request.args.get("symbol") or "").strip())
    source = (request.args.get("source") or "").strip().lower()
    sort = request.args.get("sort") or "symbol"
    descending = request.args.get("dir") == "desc"
    if source and source not in SOURCES:
        abort(422, unknown_source(source))
    if sort not in SORTS:
        abort(422, N_("Unknown sort {sort!r}: use one of {choices}.", sort=shown(sort), choices=", ".join(SORTS)))
    store = services.get().series
    found = store.list(symbol=symbol or None, source=source or None, sort=sort, descending=descending,
                       page=page_arg(), per_page=SERIES_PER_PAGE)
    known = {s.id: store.known_gaps(s) for s in found.items}
    suspect = store.suspect_counts([s.id for s in found.items])
    if wants_json():
        return {"page": found.page, "pages": found.pages, "total": found.total,
                "series": [dict(series_dict(s, suspect.get(s.id, 0)),
                                gaps=gaps_dict(known[s.id]) if known[s.id] else None,
                                gaps_url=series_url(s, "data.gaps")) for s in found.items]}
    return render_template("data/index.html", found=found, known=known, symbol=symbol, source=source, sort=sort,
                           descending=descending, sources=SOURCES, suspect=suspect)


@bp.get(SERIES + "/gaps")
def gaps(source: str, symbol: str, interval: str):
    """The gaps of one series: a table cell for the list (htmx), or JSON."""
    s = find_series(source, symbol, interval)
    report = services.get().series.gaps(s)
    if wants_json():
        return gaps_dict(report)
    return render_template("data/_gaps_cell.html", s=s, report=report)


@bp.get(SERIES + "/quality")
def quality(source: str, symbol: str, interval: str):
    """What the quality checks found in one series, as JSON (times capped per check)."""
    s = find_series(source, symbol, interval)
    return quality_dict(services.get().series.quality(s))


@bp.get(SERIES)
def series(source: str, symbol: str, interval: str):
    """One series: facts, chart with a range selector, gaps, exports, latest bars, jobs."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    page = page_arg()
    target = request.headers.get("HX-Target") if request.htmx else None
    range_error = _range_error()
    if range_error is not None and (wants_json() or target == "bars"):
        abort(422, range_error)
    if wants_json():
        report = svc.series.quality(s)
        data = series_dict(s, report.suspect)
        data.update(gaps=gaps_dict(svc.series.gaps(s)), quality=quality_dict(report),
                    actions=[action_dict(a) for a in svc.series.actions(s)])
        return data
    bars = svc.series.page(s.id, page, PER_PAGE) if target != "chart" else None
    latest = bars if page == 1 and bars is not None else svc.series.page(s.id, 1, PER_PAGE)
    decimals = charts.price_decimals(*(np.array(col, dtype=np.float64) for col in list(zip(*latest.items))[1:5]))
    if target == "bars":
        response = make_response(render_template("data/_bars.html", s=s, bars=bars, decimals=decimals))
    else:
        chart = chart_context(s, decimals, range_error)
        if target == "chart":
            response = make_response(render_template("data/_chart.html", s=s, **chart))
        else:
            jobs, jobs_total = svc.series.jobs_for(s)
            response = make_response(render_template(
                "data/series.html", s=s, kinds=svc.series.find(s.source, s.symbol, s.interval),
                report=svc.series.gaps(s), bars=bars, jobs=jobs, jobs_total=jobs_total,
                busy=svc.series.active_jobs(s), quality=svc.series.quality(s), actions=svc.series.actions(s),
                resample_choices=resample_targets(s.interval), **chart))
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    # 422 like any refused form, except to htmx restoring a page for Back after its copy left
    # the history cache: htmx swaps only 2xx/3xx there, and would show the wrong chart.
    if range_error is not None and "HX-History-Restore-Request" not in request.headers:
        response.status_code = 422
    return response


@bp.get(SERIES + ".csv")
def export_csv(source: str, symbol: str, interval: str):
    """The series (or a date range of it) as CSV, streamed."""
    s = find_series(source, symbol, interval)
    start, end = range_args()
    return exports.csv_response(services.get().series, s, start, end, *transform_args(s.interval))


@bp.get(SERIES + ".parquet")
def export_parquet(source: str, symbol: str, interval: str):
    """The series (or a date range of it) as Parquet."""
    s = find_series(source, symbol, interval)
    start, end = range_args()
    return exports.parquet_response(services.get().series, s, start, end, *transform_args(s.interval))


# --- helpers ------------------------------------------------------------------------

def _range_error() -> Message | None:
    """What is wrong with the chart range asked for (start/end or range), or None."""
    try:
        range_args()
    except UnprocessableEntity as exc:
        return exc.description
    if request.args.get("range", "all") not in RANGES:
        return N_("Unknown range {range!r}: use one of {choices}, or start and end.",
                  range=shown(request.args["range"]), choices=", ".join(RANGES))
    return None


def chart_context(s: Series, decimals: int, range_error: Message | None = None) -> dict:
    """The range the chart shows (preset or start/end) and the chart itself. With a
    `range_error`, the whole series, and the error beside the fields that still show what
    was typed (as a form answers), instead of an error page that loses the chart."""
    step = interval_seconds(s.interval)
    chosen, start, end = ("all", None, None) if range_error is not None else _chosen_range(s, step)
    lo = start if start is not None else (s.first_ts or 0)
    hi = end if end is not None else (s.last_ts or 0) + step
    store = services.get().series
    data = charts.load(store, s.id, s.interval, lo, hi)
    label = f"{s.symbol} {s.interval} {s.kind} ({translated(source_label(s.source))})"
    presets = [name for name, back in RANGES.items() if back is None or back >= 2 * step]
    marks = store.suspect_marks(s.id, data.start, data.end) if data.mode != "empty" else []
    layers = [chart_marks.quality_layer(marks)] if marks else []
    context = {"chart": chart_svg.render(data, label, decimals, zoom_url=series_url(s), layers=layers),
               "chart_data": data, "chart_marks": len(marks), "chosen": chosen, "ranges": presets,
               "decimals": decimals, "candles_up_to": charts.CANDLES_UP_TO, "range_labels": RANGE_LABELS,
               "start_text": _input_time(start if chosen == "custom" else None),
               "end_text": _input_time(end if chosen == "custom" else None), "intraday": is_intraday(s.interval)}
    if range_error is not None:
        context.update(range_error=range_error, start_text=_typed("start"), end_text=_typed("end"))
    return context


def _chosen_range(s: Series, step: int) -> tuple[str, int | None, int | None]:
    """(preset name or "custom", start, end) from the query; start/end in epoch seconds."""
    chosen = request.args.get("range") or ""
    start, end = range_args()
    if start is not None or end is not None:
        return "custom", start, end
    chosen = chosen or "all"
    back = RANGES[chosen]
    if back is not None and s.last_ts is not None:
        start = s.last_ts + step - back
    return chosen, start, end


def _typed(name: str) -> str:
    """What was typed in a range field, shown back beside its error: as the field writes it
    when it reads as a time (2024-01-05T15:00Z would show as nothing), else cut, as typed."""
    text = (request.args.get(name) or "").strip()
    try:
        return _input_time(int(parse_when(text, end_of_day=name == "end").timestamp()))
    except TimeParseError:
        return text[:64]


def _input_time(epoch: int | None) -> str:
    """An epoch as a datetime-local input's value (UTC)."""
    return "" if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M")
