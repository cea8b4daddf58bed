"""Splits and dividends: which bars already include them, which ledger speaks for a series,
and the factors that bring earlier bars to today's basis. Shared by the jobs that keep a
series in one unit and by the read side (read_bars, exports). No database, no pandas.

A split of `value` new shares per old one divides every earlier price by `value` and
multiplies earlier volume by it. A dividend of `amount` multiplies every earlier price by
(1 - amount / the last close before its ex-date), the way Yahoo's adjusted close does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from fractions import Fraction
from typing import Callable

import numpy as np

SPLIT, DIVIDEND = "split", "dividend"
KINDS = (SPLIT, DIVIDEND)
ADJUST_CHOICES = {None: frozenset(), "splits": frozenset({SPLIT}), "all": frozenset({SPLIT, DIVIDEND})}

# What the stored prices of a (source, kind) already include. Yahoo's close is split-adjusted
# (as of the day it was fetched) and its "adjusted" series includes dividends too; IB's
# ADJUSTED_LAST likewise. Everything else is as traded (IB TRADES, midpoints) or simulated.
_IN_BARS: dict[tuple[str, str], frozenset[str]] = {
    ("yahoo", "trades"): frozenset({SPLIT}),
    ("yahoo", "adjusted"): frozenset({SPLIT, DIVIDEND}),
    ("ibkr", "adjusted_last"): frozenset({SPLIT, DIVIDEND}),
}
# Whose reports describe a series' symbol: its own source's, and for IB (which reports none)
# Yahoo's. Simulated prices have no corporate actions.
_LEDGERS = {"yahoo": ("yahoo",), "ibkr": ("ibkr", "yahoo"), "sim": ()}


@dataclass(frozen=True)
class LedgerEntry:
    """An action as the read side and the jobs use it (a row of the ledger)."""

    id: int
    kind: str
    ex_date: date
    value: float
    starts_at: int

    def boundary(self, daily: bool) -> int:
        """Bars starting before this are the earlier ones: daily bars are stamped at 00:00 UTC
        of their date, intraday bars at their real time."""
        return day_start(self.ex_date) if daily else self.starts_at


def in_bars(source: str, kind: str) -> frozenset[str]:
    """The action kinds the stored prices of this series already include."""
    return _IN_BARS.get((source, kind), frozenset())


def ledger_keys(source: str, symbol: str) -> list[tuple[str, str]]:
    """(source, symbol) pairs whose ledger entries apply to this series."""
    keys = []
    for ledger in _LEDGERS.get(source, ()):
        spelled = symbol if ledger == source else yahoo_spelling(symbol)
        keys.append((ledger, spelled))
    return keys


def yahoo_spelling(symbol: str) -> str:
    """BRK.B or "BRK B" (IB) -> BRK-B (Yahoo)."""
    return symbol.replace(".", "-").replace(" ", "-")


def day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def ratio_text(value: float) -> str:
    """4.0 -> '4:1', 1.5 -> '3:2', 0.1 -> '1:10'."""
    fraction = Fraction(value).limit_denominator(1000)
    return f"{fraction.numerator}:{fraction.denominator}"


@dataclass(frozen=True)
class Adjustment:
    """Multipliers that put bars on the basis after a set of ledger entries.

    A bar at `ts` is multiplied by the product of the entries whose boundary lies after it;
    built once per series (a few entries), applied to any batch of bars with one search.
    """

    boundaries: np.ndarray  # sorted
    price_after: np.ndarray  # price_after[k]: product for bars before boundaries[k:] (len + 1)
    volume_after: np.ndarray

    @classmethod
    def build(cls, entries: list[LedgerEntry], kinds: frozenset[str], daily: bool,
              close_before: Callable[[int], float | None]) -> "Adjustment":
        """`close_before(t)`: the stored close of the last bar before time t, or None."""
        chosen = sorted((e for e in entries if e.kind in kinds), key=lambda e: e.boundary(daily))
        bounds = np.array([e.boundary(daily) for e in chosen], dtype=np.int64)
        price = np.ones(len(chosen))
        volume = np.ones(len(chosen))
        for i, entry in enumerate(chosen):
            if entry.kind == SPLIT:
                price[i], volume[i] = 1 / entry.value, entry.value
                continue
            before = close_before(int(bounds[i]))
            # the amount is per share of today's basis: compare it with the close on that basis
            later_splits = np.prod([1 / e.value for e in chosen if e.kind == SPLIT and e.boundary(daily) >= bounds[i]])
            if before is not None and before * later_splits > entry.value > 0:
                price[i] = 1 - entry.value / (before * later_splits)
        suffix = np.ones(len(chosen) + 1)
        suffix_volume = np.ones(len(chosen) + 1)
        suffix[:-1] = np.cumprod(price[::-1])[::-1]
        suffix_volume[:-1] = np.cumprod(volume[::-1])[::-1]
        return cls(bounds, suffix, suffix_volume)

    @property
    def empty(self) -> bool:
        return self.boundaries.size == 0

    def factors(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(price, volume) multipliers for bars at `ts`."""
        k = np.searchsorted(self.boundaries, ts, side="right")
        return self.price_after[k], self.volume_after[k]
