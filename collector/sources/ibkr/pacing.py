"""IB's historical-data pacing rules, enforced across every collector through Redis.

IB counts requests per login, not per connection, so collectors on any host share one
budget. Each rule is a sorted set of request times; one Lua script checks all three and
records the request only when every rule allows it, so two collectors can never both
take the last slot. Times come from the Redis server's clock, so hosts need not agree.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Callable

import redis as redis_lib

from collector.sources.base import TransientError, WaitReporter

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

    def scaled(self, factor: float) -> "PacingRules":
        return replace(self, identical_window=self.identical_window * factor,
                       burst_window=self.burst_window * factor, window=self.window * factor,
                       violation_pause=self.violation_pause * factor)


_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local sig, token, weight = ARGV[1], ARGV[2], tonumber(ARGV[3])
local iw, bw, bmax = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local w, wmax = tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - iw)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - bw)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - w)
local wait = 0
local penalty = redis.call('PTTL', KEYS[4])
if penalty > 0 then wait = penalty / 1000 end
local last = redis.call('ZSCORE', KEYS[1], sig)
if last then wait = math.max(wait, tonumber(last) + iw - now) end
local n = redis.call('ZCARD', KEYS[2])
if n >= bmax then
  local e = redis.call('ZRANGE', KEYS[2], n - bmax, n - bmax, 'WITHSCORES')
  wait = math.max(wait, tonumber(e[2]) + bw - now)
end
if weight > 0 then
  local excess = redis.call('ZCARD', KEYS[3]) + weight - wmax
  if excess > 0 then
    local e = redis.call('ZRANGE', KEYS[3], excess - 1, excess - 1, 'WITHSCORES')
    wait = math.max(wait, tonumber(e[2]) + w - now)
  end
end
if wait > 0 then return tostring(wait) end
redis.call('ZADD', KEYS[1], now, sig)
redis.call('PEXPIRE', KEYS[1], math.ceil(iw * 1000) + 1000)
redis.call('ZADD', KEYS[2], now, token)
redis.call('PEXPIRE', KEYS[2], math.ceil(bw * 1000) + 1000)
for i = 1, weight do redis.call('ZADD', KEYS[3], now, token .. ':' .. i) end
if weight > 0 then redis.call('PEXPIRE', KEYS[3], math.ceil(w * 1000) + 1000) end
return '0'
"""


class IbPacer:
    """Waits until IB's rules allow one more historical request, then records it.

    With `redis=None` the same rules are kept in this process only (one collector).
    """

    def __init__(self, redis: redis_lib.Redis | None, key_prefix: str,
                 rules: PacingRules | None = None, sleep: Callable[[float], None] = time.sleep):
        self.rules = rules or PacingRules()
        self._prefix = f"{key_prefix}:pacing:ib"
        self._sleep = sleep
        self._redis = redis
        self._script = redis.register_script(_ACQUIRE) if redis is not None else None
        self._local = _LocalWindows() if redis is None else None

    def acquire(self, *, signature: str, contract_key: str, what_to_show: str,
                bar_seconds: int, report_wait: WaitReporter) -> float:
        """Block until the request may go out; returns the seconds waited."""
        rules = self.rules
        weight = 0
        if bar_seconds <= rules.small_bar_seconds:
            weight = min(2 if what_to_show == "BID_ASK" else 1, rules.window_max)
        keys = [f"{self._prefix}:identical", f"{self._prefix}:burst:{contract_key}:{what_to_show}",
                f"{self._prefix}:window", f"{self._prefix}:penalty"]
        args = [signature, uuid.uuid4().hex, weight, rules.identical_window,
                rules.burst_window, rules.burst_max, rules.window, rules.window_max]
        waited = 0.0
        while True:
            wait = self._try(keys, args)
            if wait <= 0:
                return waited
            report_wait(f"waiting for IB pacing, resumes in {math.ceil(wait)} s")
            self._sleep(wait + 0.005)  # a hair past the edge, so the slot has surely freed
            waited += wait

    def penalize(self, seconds: float | None = None) -> float:
        """IB reported a pacing violation anyway (another program on the same login, say):
        hold back every collector's requests for `seconds` (default: the rules' pause)."""
        seconds = self.rules.violation_pause if seconds is None else seconds
        if self._local is not None:
            self._local.penalty_until = max(self._local.penalty_until, time.monotonic() + seconds)
            return seconds
        try:
            self._redis.set(f"{self._prefix}:penalty", "1", px=max(1, int(seconds * 1000)))
        except redis_lib.RedisError:
            pass  # the worker's retry delay still applies
        return seconds

    def _try(self, keys: list[str], args: list) -> float:
        if self._local is not None:
            return self._local.try_acquire(keys, args)
        try:
            return float(self._script(keys=keys, args=args))
        except redis_lib.RedisError as exc:
            raise TransientError(f"Redis is unreachable, so IB pacing cannot be checked: {exc}") from exc


class _LocalWindows:
    """The Lua script's logic for a single process, when no Redis is at hand."""

    def __init__(self) -> None:
        self._sets: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self.penalty_until = 0.0

    def try_acquire(self, keys: list[str], args: list) -> float:
        sig, token, weight, iw, bw, bmax, w, wmax = args
        with self._lock:
            now = time.monotonic()
            ident, burst, window = (self._sets.setdefault(k, {}) for k in keys[:3])
            for entries, span in ((ident, iw), (burst, bw), (window, w)):
                for member in [m for m, at in entries.items() if at <= now - span]:
                    del entries[member]
            wait = max(0.0, self.penalty_until - now)
            if sig in ident:
                wait = max(wait, ident[sig] + iw - now)
            times = sorted(burst.values())
            if len(times) >= bmax:
                wait = max(wait, times[len(times) - bmax] + bw - now)
            times = sorted(window.values())
            excess = len(times) + weight - wmax
            if weight and excess > 0:
                wait = max(wait, times[excess - 1] + w - now)
            if wait > 0:
                return wait
            ident[sig] = now
            burst[token] = now
            for i in range(weight):
                window[f"{token}:{i}"] = now
            return 0.0
