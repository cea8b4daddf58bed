"""What a URL may carry: ids in paths, the page number and a date range in the query.
Bad values are a 404 (an id that cannot exist) or a 422 that says what is allowed."""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

from collector import N_, TimeParseError, check_adjust, check_resample, parse_when, parse_whole, shown

MAX_PAGE = 100_000
MAX_ID = 2**31 - 1  # the largest id the tables' Integer keys hold on PostgreSQL (int4; SQLite's go to 2^63)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits only, from 1 to MAX_ID, so an id the database
    cannot hold (or '١', which int() reads as 1) is a 404, not an overflow."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def page_arg() -> int:
    """?page=N, 1 by default."""
    raw = request.args.get("page", "1")
    page = parse_whole(raw)
    if page is None or not 1 <= page <= MAX_PAGE:
        abort(422, N_("Page must be a whole number from 1 to {most}; got {got!r}.", most=MAX_PAGE, got=shown(raw)))
    return page


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
            abort(422, exc.message)
    start, end = bounds
    if start is not None and end is not None and end <= start:
        abort(422, N_("End must be after start."))
    return start, end


def transform_args(interval: str) -> tuple[str | None, str | None]:
    """?adjust=splits|all and ?resample=5m|1h|1d|... for a series of `interval` bars; 422
    with what is allowed otherwise."""
    adjust = (request.args.get("adjust") or "").strip().lower() or None
    resample = (request.args.get("resample") or "").strip() or None
    for message in (check_adjust(adjust), check_resample(interval, resample)):
        if message:
            abort(422, N_("{problem}.", problem=message))
    return adjust, (None if resample == interval else resample)
