"""Reading what people type: yes/no, whole numbers and tickers' case, one rule each for
every form, option, setting and CLI flag."""

from __future__ import annotations

import re
from typing import Any

from collector.i18n import N_

YES = frozenset({"1", "true", "t", "yes", "y", "on"})
NO = frozenset({"0", "false", "f", "no", "n", "off"})
YES_NO_HELP = N_("yes or no (true/false, on/off, 1/0)")

# ASCII digits only: str.isdigit() also accepts '²' and other digits int() refuses.
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


def parse_bool(value: Any, *, empty: bool | None = None) -> bool | None:
    """True/False for the ways forms, JSON and environment variables say yes/no; `empty`
    for a missing or blank value; None when the value is neither."""
    if value is None:
        return empty
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value) if value in (0, 1) else None
    text = str(value).strip().lower()
    if not text:
        return empty
    if text in YES:
        return True
    if text in NO:
        return False
    return None


def upper_ascii(text: str) -> str:
    """A ticker as typed, upper-cased only when it is ASCII: 'ß'.upper() is 'SS', another ticker."""
    return text.upper() if text.isascii() else text


def parse_whole(value: Any) -> int | None:
    """An integer written with ASCII digits (at most 18 of them, so it fits 64 bits), or None."""
    text = str(value).strip() if value is not None else ""
    return int(text) if _WHOLE.fullmatch(text) else None
