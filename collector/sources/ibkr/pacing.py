"""IB's historical-data pacing rules, enforced across every collector through Redis.

IB counts requests per login, not per connection, so collectors on any host share one
budget. Each rule is a sorted set of request times; one Lua script checks all three and
records the request only when every rule allows it, so two collectors can never both
take the last slot. Times come from the Redis server's clock, so hosts need not agree.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, replace
from typing import Callable

import redis as redis_lib

from collector import luascripts
from collector.i18n import N_
from collector.sources.base import TransientError, WaitReporter, sleeper

log = logging.getLogger("mdc.ibkr")


@dataclass(frozen=True)
class PacingRules:
    """IB's published limits; `scaled()` shrinks the windows for tests and demos."""

    identical_window: float = 15.0
    """No identical request (same contract, end, duration, bar size, data) within this."""
    burst_window: float = 2.0
    burst_max: int = 5
    """At most this many requests for one contract and data type per burst window."""
    window: float = 600.0
    window_max: int = 60
    """At most this many requests for small bars per window (BID_ASK counts twice)."""
    small_bar_seconds: int = 30
    """Bars of this size or less fall under the `window` rule."""
    violation_pause: float = 60.0
    """After IB reports a pacing violation anyway, every collector holds back this long."""
    edge_margin: float = 0.01
    min_margin: float = 1.0
    """Each window is kept `edge_margin` of itself longer, and at least `min_margin` seconds:
    IB counts a request from when it arrives, on its own clock, and a request counted here
    can arrive a little later than one sent at the window's far edge."""

    def scaled(self, factor: float) -> "PacingRules":
        return replace(self, identical_window=self.identical_window * factor,
                       burst_window=self.burst_window * factor, window=self.window * factor,
                       violation_pause=self.violation_pause * factor, min_margin=self.min_margin * factor)

    def padded(self, window: float) -> float:
        """A window with its safety margin."""
        return window + max(window * self.edge_margin, self.min_margin)


class IbPacer:
    """Waits until IB's rules allow one more historical request, then records it."""

    def __init__(self, redis: redis_lib.Redis | None, key_prefix: str,
                 rules: PacingRules | None = None, sleep: Callable[[float], None] = time.sleep):
        self.rules = rules or PacingRules()
        self._prefix = f"{key_prefix}:pacing:ib"
        self._sleep = sleep
        self._redis = redis
        # Sources built for validation only (the web app) have no client and never fetch.
        self._script = luascripts.register(redis, __file__, "pacing") if redis is not None else None

    def acquire(self, *, signature: str, contract_key: str, what_to_show: str,
                bar_seconds: int, report_wait: WaitReporter) -> float:
        """Block until the request may go out; returns the seconds waited."""
        rules = self.rules
        weight = 0
        if bar_seconds <= rules.small_bar_seconds:
            weight = min(2 if what_to_show == "BID_ASK" else 1, rules.window_max)
        keys = [f"{self._prefix}:identical", f"{self._prefix}:burst:{contract_key}:{what_to_show}",
                f"{self._prefix}:window", f"{self._prefix}:penalty"]
        args = [signature, uuid.uuid4().hex, weight, rules.padded(rules.identical_window),
                rules.padded(rules.burst_window), rules.burst_max, rules.padded(rules.window), rules.window_max]
        waited = 0.0
        sleep = sleeper(report_wait, self._sleep)  # the job's own sleep, which a cancel cuts short
        while True:
            wait = self._try(keys, args)
            if wait <= 0:
                return waited
            report_wait(N_("waiting for IB pacing, resumes in {seconds} s", seconds=math.ceil(wait)))
            sleep(wait + 0.005)  # a hair past the edge, so the slot has surely freed
            waited += wait

    def penalize(self, seconds: float | None = None) -> float:
        """IB reported a pacing violation anyway (another program on the same login, say):
        hold back every collector's requests for `seconds` (default: the rules' pause)."""
        seconds = self.rules.violation_pause if seconds is None else seconds
        try:
            self._redis.set(f"{self._prefix}:penalty", "1", px=max(1, int(seconds * 1000)))
        except redis_lib.RedisError:
            pass  # the worker's retry delay still applies
        return seconds

    def _try(self, keys: list[str], args: list) -> float:
        if self._script is None:
            raise RuntimeError("IB requests are paced through Redis: build the source with a Redis client")
        try:
            return float(self._script(keys=keys, args=args))
        except redis_lib.RedisError as exc:
            raise TransientError(N_("Redis is unreachable, so IB pacing cannot be checked: {error}", error=exc)) from exc
