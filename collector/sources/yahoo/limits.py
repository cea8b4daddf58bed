"""What Yahoo serves and how fast it may be asked: intervals, lookbacks, chunk spans, pacing.

The limits are Yahoo's own (its error texts and yfinance state them): 1-minute bars for the
last 30 days, 8 days per request; 2m-90m for 60 days; hourly for 730 days; daily and
longer for all history.
"""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import datetime, timedelta

from redis.exceptions import RedisError

from collector import luascripts
from collector.i18n import N_
from collector.sources.base import TransientError, WaitReporter, sleeper
from collector.timespec import describe_interval, shown

# Shared vocabulary -> yfinance's interval names.
YF_INTERVALS: dict[str, str] = {
    "1m": "1m", "2m": "2m", "5m": "5m", "15m": "15m", "30m": "30m", "90m": "90m",
    "1h": "1h", "1d": "1d", "5d": "5d", "1w": "1wk", "1mo": "1mo", "3mo": "3mo",
}
INTERVALS: tuple[str, ...] = tuple(YF_INTERVALS)

# How far back Yahoo keeps each intraday interval; daily and longer: all history.
LOOKBACK: dict[str, timedelta] = {
    "1m": timedelta(days=30),
    **{i: timedelta(days=60) for i in ("2m", "5m", "15m", "30m", "90m")},
    "1h": timedelta(days=730),
}

LOOKBACK_GRACE = timedelta(hours=1)

# Longest span one request may cover. Daily and longer have no limit; 5 years per request
# keeps answers small and progress moving.
DAILY_SPAN = timedelta(days=1826)
SPAN: dict[str, timedelta] = {
    "1m": timedelta(days=8),
    **{i: timedelta(days=60) for i in ("2m", "5m", "15m", "30m", "90m")},
    "1h": timedelta(days=730),
}

# Letters, digits and . - ^ = : MSFT, BRK-B, ^GSPC, EURUSD=X, ES=F, VOD.L
SYMBOL_RE = re.compile(r"[A-Za-z0-9.\-^=]{1,20}")

REPORT_WAIT_AFTER = 1.0  # seconds; shorter waits are not worth a progress message


def check_symbol(symbol: str) -> str | None:
    if not SYMBOL_RE.fullmatch(symbol or ""):
        return N_("{symbol!r} is not a Yahoo symbol: use 1-20 letters, digits or . - ^ = as Yahoo writes it, "
                  "e.g. MSFT, BRK-B, ^GSPC, EURUSD=X, ES=F", symbol=shown(symbol or ""))
    return None


def check_interval(interval: str) -> str | None:
    if interval not in YF_INTERVALS:
        return N_("Yahoo does not serve {interval!r} bars; choose one of {choices}", interval=shown(interval),
                  choices=", ".join(INTERVALS))
    return None


def check_lookback(interval: str, start: datetime, now: datetime) -> str | None:
    """A message when `start` is older than Yahoo keeps `interval` bars.

    A start up to LOOKBACK_GRACE past the edge passes: the presets land exactly on it
    ("1mo" of 1-minute bars starts 30 days before the moment the form is read, a few
    milliseconds before this check), and fetching clamps to what Yahoo still has.
    """
    back = LOOKBACK.get(interval)
    if back is None or start >= now - back - LOOKBACK_GRACE:
        return None
    earliest = (now - back).date().isoformat()
    return N_("Yahoo keeps {interval} bars for the last {days} days only: choose a start after {earliest}",
              interval=describe_interval(interval), days=back.days, earliest=earliest)


def chunk_span(interval: str) -> timedelta:
    return SPAN.get(interval, DAILY_SPAN)


class Pacer:
    """At most one Yahoo request per `spacing` seconds, across every collector.

    With a Redis client the slots are handed out by a Lua script on one key, using the
    Redis server's clock, so collectors on several hosts share one budget. Without Redis
    the pacing holds within this process only.
    """

    _local_lock = threading.Lock()
    _local_next = 0.0

    def __init__(self, redis, key: str, spacing: float):
        self.redis = redis
        self.key = key
        self.spacing = max(0.0, float(spacing))
        self._script = luascripts.register(redis, __file__, "pacing") if redis is not None else None
        self.report_wait: WaitReporter | None = None

    def wait(self) -> float:
        """Block until this request's slot; returns the seconds waited."""
        if self.spacing <= 0:
            return 0.0
        delay = self._reserve()
        if delay >= REPORT_WAIT_AFTER and self.report_wait is not None:
            self.report_wait(N_("waiting for Yahoo pacing, resumes in {seconds} s", seconds=math.ceil(delay)))
        if delay > 0:
            sleeper(self.report_wait)(delay)  # the job's own sleep, which a cancel cuts short
        return delay

    def _reserve(self) -> float:
        if self._script is None:
            with Pacer._local_lock:
                now = time.monotonic()
                slot = max(now, Pacer._local_next)
                Pacer._local_next = slot + self.spacing
                return slot - now
        try:
            return int(self._script(keys=[self.key], args=[int(self.spacing * 1000)])) / 1000
        except RedisError as exc:
            raise TransientError(N_("Cannot reach Redis to pace Yahoo requests: {error}.", error=exc)) from exc
