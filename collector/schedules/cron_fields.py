"""A watchlist's cron schedule, checked beyond what croniter checks: croniter 7 accepts
ranges it then reads as * (9-9, 17-9) and days that never come (31 February)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.i18n import N_, Message
from collector.timespec import shown


def cron_fields(fields: Mapping[str, Any], errors: dict[str, str]) -> tuple[str, str]:
    """The cron expression and its time zone from a watchlist's fields; what is wrong goes
    into `errors`, by field, in words that name the part at fault."""
    from croniter import croniter

    expr = " ".join(str(fields.get("cron") or "").split())
    zone = str(fields.get("timezone") or "UTC").strip()
    parts = expr.split()
    if len(parts) != 5:
        errors["cron"] = N_("A cron expression has 5 fields: minute hour day-of-month month day-of-week, "
                            "for example 0 18 * * 1-5 (18:00 on weekdays).")
    elif not croniter.is_valid(expr):
        # Say which field: "0 25 * * 1-5" has its 5 fields, its hour is what is wrong.
        wrong = next((i for i in range(5) if not croniter.is_valid(
            " ".join(part if j == i else "*" for j, part in enumerate(parts)))), None)
        errors["cron"] = _cron_field_error(wrong, shown(parts[wrong])) if wrong is not None else _NEVER
    elif (backwards := _backwards_range(parts)) is not None:
        errors["cron"] = N_("The cron expression's range {range!r} does not go from a lower to a higher value: write "
                            "one value alone (9, not 9-9), or a range such as 9-17.", range=shown(backwards))
    elif not _comes(croniter, expr):
        errors["cron"] = _NEVER
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = N_("Unknown time zone {zone!r}: use a name such as Europe/Paris or America/New_York.",
                                zone=shown(zone))
    return expr, zone


_NEVER = N_("This cron expression names no time that ever comes, such as 0 0 31 2 * (31 February).")


def _comes(croniter, expr: str) -> bool:
    """Whether the expression names a time in the coming years (croniter gives up otherwise)."""
    from croniter import CroniterBadDateError

    try:
        croniter(expr, datetime.now(ZoneInfo("UTC"))).get_next(datetime)
        return True
    except CroniterBadDateError:
        return False


_CRON_NAMES = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))} | {
    name: i + 1 for i, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                          "dec"))}


def _backwards_range(parts: list[str]) -> str | None:
    """The first range like 9-9 or 17-9: croniter 7 reads them as * (every hour), not as the
    one hour, or the wrap-around, a person meant."""
    for item in (item for part in parts for item in part.split(",")):
        low, dash, high = item.partition("/")[0].partition("-")
        if not dash:
            continue
        try:
            a, b = (int(_CRON_NAMES.get(v.lower(), v)) for v in (low, high))
        except ValueError:
            continue  # not numbers: croniter's own check has judged it
        if a >= b:
            return item
    return None


def _cron_field_error(index: int, value: str) -> Message:
    """One whole sentence per field, so each translates naturally."""
    if index == 0:
        return N_("The cron expression's minute {value!r} is not valid: use 0-59, a list (0,30) or a step (*/15).",
                  value=value)
    if index == 1:
        return N_("The cron expression's hour {value!r} is not valid: use 0-23, a list (9,17) or a range (9-17).",
                  value=value)
    if index == 2:
        return N_("The cron expression's day of the month {value!r} is not valid: use 1-31 or *.", value=value)
    if index == 3:
        return N_("The cron expression's month {value!r} is not valid: use 1-12, jan-dec or *.", value=value)
    return N_("The cron expression's day of the week {value!r} is not valid: use 0-7 (0 and 7 are Sunday), "
              "mon-sun, a range (1-5) or *.", value=value)
