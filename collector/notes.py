"""What mdc says about the trustworthiness of a series, in one place: the quality checks'
names, corporate actions, the notes a job leaves on a series and in its log.
(The web templates show the same facts; their words live in the templates.)"""

from __future__ import annotations

from datetime import datetime, timezone

from .corporate import SPLIT, LedgerEntry, ratio_text

CHECK_LABELS: dict[str, tuple[str, str]] = {
    "ohlc": ("OHLC inconsistent", "low above open or close, or high below them"),
    "price": ("Price not positive", "a price at or below zero"),
    "volume": ("Negative volume", "volume below zero"),
    "grid": ("Off the interval's grid", "a bar time that is not a whole number of intervals from midnight or the open"),
    "session": ("Outside trading sessions", "at night, on a weekend or on a holiday of the exchange's calendar"),
    "spike": ("Spike", "a return or a high/low far outside the series' recent spread"),
    "frozen": ("Frozen prices", "many bars in a row with identical open, high, low and close"),
    "no_volume": ("No volume", "many bars in a row without volume in a series that has volume"),
}


def action_text(entry: LedgerEntry) -> str:
    """'split 4:1 on 2020-08-31', 'dividend of 0.24 on 2024-02-09'."""
    if entry.kind == SPLIT:
        return f"split {ratio_text(entry.value)} on {entry.ex_date.isoformat()}"
    return f"dividend of {entry.value:,.4g} on {entry.ex_date.isoformat()}"


def in_line_text(entry: LedgerEntry, method: str, bars: int, kept: int, job_id: int | None) -> str:
    """What bringing a series in line with an action did, for the series page and the job log."""
    what = action_text(entry)
    what = what[0].upper() + what[1:]
    by = f" by job #{job_id}" if job_id else ""
    if method == "none":
        return f"{what}: no earlier bars were stored, nothing to adjust."
    if method == "already" or (bars == 0 and not kept):
        return f"{what}: the earlier bars were already on the new basis (checked{by})."
    text = f"{what}: {bars:,} earlier bar{'s' * (bars != 1)} re-adjusted{by}"
    if kept:
        text += f"; {kept:,} older than the source keeps could not be brought in line"
    return text + "."


def revised_text(source_label: str, bars: int, first_ts: int) -> str:
    return (f"{source_label} revised its history: {bars:,} re-fetched bar{'s' * (bars != 1)} differ"
            f"{'s' * (bars == 1)} from what was stored (from {_when(first_ts)}). "
            "Re-collect the series to bring it in line.")


def recollecting_text(job_id: int) -> str:
    return f"Re-collecting the series as job #{job_id}."


def suspect_text(count: int) -> str:
    return f"{count:,} suspect bar{'s' * (count != 1)}"


def _when(epoch: int) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    if moment.hour == moment.minute == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")
