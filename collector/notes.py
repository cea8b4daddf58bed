"""What mdc says about the trustworthiness of a series, in one place: the quality checks'
names, corporate actions, the notes a job leaves on a series and in its log.
(The web templates show the same facts; their words live in the templates.) Every text is a
Message (collector.i18n): English here, in the reader's language on the web pages."""

from __future__ import annotations

from datetime import datetime, timezone

from .corporate import SPLIT, LedgerEntry, ratio_text
from .i18n import N_, N_plural

CHECK_LABELS: dict[str, tuple[str, str]] = {
    "ohlc": (N_("OHLC inconsistent"), N_("low above open or close, or high below them")),
    "price": (N_("Price not positive"), N_("a price at or below zero")),
    "volume": (N_("Negative volume"), N_("volume below zero")),
    "grid": (N_("Off the interval's grid"),
             N_("a bar time that is not a whole number of intervals from midnight or the open")),
    "session": (N_("Outside trading sessions"),
                N_("at night, on a weekend or on a holiday of the exchange's calendar")),
    "spike": (N_("Spike"), N_("a return or a high/low far outside the series' recent spread")),
    "frozen": (N_("Frozen prices"), N_("many bars in a row with identical open, high, low and close")),
    "no_volume": (N_("No volume"), N_("many bars in a row without volume in a series that has volume")),
}


def action_text(entry: LedgerEntry, *, first: bool = False) -> str:
    """'split 4:1 on 2020-08-31', 'dividend of 0.24 on 2024-02-09' ('Split ...' to start a sentence)."""
    day = entry.ex_date.isoformat()
    if entry.kind == SPLIT:
        ratio = ratio_text(entry.value)
        return N_("Split {ratio} on {date}", ratio=ratio, date=day) if first else \
            N_("split {ratio} on {date}", ratio=ratio, date=day)
    return N_("Dividend of {amount} on {date}", amount=entry.value, date=day) if first else \
        N_("dividend of {amount} on {date}", amount=entry.value, date=day)


def in_line_text(entry: LedgerEntry, method: str, bars: int, kept: int, job_id: int | None) -> str:
    """What bringing a series in line with an action did, for the series page and the job log."""
    what = action_text(entry, first=True)
    if method == "none":
        return N_("{what}: no earlier bars were stored, nothing to adjust.", what=what)
    if method == "already" or (bars == 0 and not kept):
        if job_id:
            return N_("{what}: the earlier bars were already on the new basis (checked by job #{job!s}).",
                      what=what, job=job_id)
        return N_("{what}: the earlier bars were already on the new basis (checked).", what=what)
    if kept and job_id:
        return N_plural("{what}: {n} earlier bar re-adjusted by job #{job!s}; {kept} older than the source keeps "
                        "could not be brought in line.",
                        "{what}: {n} earlier bars re-adjusted by job #{job!s}; {kept} older than the source keeps "
                        "could not be brought in line.", bars, what=what, job=job_id, kept=kept)
    if kept:
        return N_plural("{what}: {n} earlier bar re-adjusted; {kept} older than the source keeps could not be "
                        "brought in line.",
                        "{what}: {n} earlier bars re-adjusted; {kept} older than the source keeps could not be "
                        "brought in line.", bars, what=what, kept=kept)
    if job_id:
        return N_plural("{what}: {n} earlier bar re-adjusted by job #{job!s}.",
                        "{what}: {n} earlier bars re-adjusted by job #{job!s}.", bars, what=what, job=job_id)
    return N_plural("{what}: {n} earlier bar re-adjusted.", "{what}: {n} earlier bars re-adjusted.", bars, what=what)


def revised_text(source_label: str, bars: int, first_ts: int) -> str:
    return N_plural("{source} revised its history: {n} re-fetched bar differs from what was stored (from {when}). "
                    "Re-collect the series to bring it in line.",
                    "{source} revised its history: {n} re-fetched bars differ from what was stored (from {when}). "
                    "Re-collect the series to bring it in line.", bars, source=source_label, when=_when(first_ts))


def recollecting_text(job_id: int) -> str:
    return N_("Re-collecting the series as job #{job!s}.", job=job_id)


def suspect_text(count: int) -> str:
    return N_plural("{n} suspect bar", "{n} suspect bars", count)


def _when(epoch: int) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    if moment.hour == moment.minute == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")
