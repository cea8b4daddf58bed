"""Simulated bars: deterministic, offline, for demos, tests and benchmarks.

Every bar is a pure function of (symbol, interval, kind, bar time), so any chunking and any
re-run yield the same values. Intraday bars exist only on weekdays 14:30-21:00 UTC (a
stand-in for US market hours); daily and longer bars only on weekdays.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from collector.calendar import sim_bar_times
from collector.i18n import N_
from collector.parse import parse_whole
from collector.settings import Settings
from collector.timespec import INTERVALS, describe_interval, interval_seconds, is_intraday, shown

from .base import PermanentError, Request, TransientError, chunk_range, empty_bars

BARS_PER_CHUNK = 20_000
MAX_BARS_PER_JOB = 5_000_000
KINDS = ("trades", "midpoint", "bid", "ask")


class SimSource:
    name = "sim"
    label = N_("Simulated")
    intervals = tuple(INTERVALS)

    def __init__(self, settings: Settings, redis: Any = None):
        self.settings = settings
        # `fail` is a test hook: without the setting it is an unknown option, in forms and curl alike.
        self.option_names = ("delay", "kind") + (("fail",) if settings.sim_failure_option else ())

    def normalize_options(self, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        clean: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for key, value in options.items():
            if key == "delay":
                if value in (None, ""):
                    continue
                longest = self.settings.sim_max_delay_seconds
                try:  # ASCII digits only, as everywhere: float() would also read '١' (an Arabic-Indic 1)
                    delay = float(value) if str(value).isascii() else -1.0
                except (TypeError, ValueError):
                    delay = -1.0
                if not 0 <= delay <= longest:  # NaN fails this too
                    errors["delay"] = N_("A number of seconds from 0 to {longest:g}, such as 0.5 (the most is "
                                         "MDC_SIM_MAX_DELAY_SECONDS).", longest=longest)
                else:
                    clean["delay"] = delay
            elif key == "kind":
                kind = str(value or "trades").lower()
                if kind not in KINDS:
                    errors["kind"] = N_("Simulated prices are one of {kinds}.", kinds=", ".join(KINDS))
                elif kind != "trades":
                    clean["kind"] = kind
            elif key == "fail" and "fail" in self.option_names:
                # Test and demo hook: make chunk N fail, permanently or transiently.
                mode = str(value or "").lower()
                if mode and not _valid_fail(mode):
                    errors["fail"] = N_("fail is 'permanent:N' or 'transient:N' (N = chunk number).")
                elif mode:
                    clean["fail"] = mode
            else:
                errors[key] = N_("The simulated source has no option {key!r}.", key=shown(key))
        return clean, errors

    def kind(self, options: dict[str, Any]) -> str:
        return options.get("kind", "trades")

    def validate(self, request: Request) -> dict[str, str]:
        bars = (request.end - request.start).total_seconds() / interval_seconds(request.interval)
        if bars > MAX_BARS_PER_JOB:
            return {"start": N_("Simulated {interval} bars are limited to {most} per job: choose a shorter period "
                                "or a longer interval.", interval=describe_interval(request.interval),
                                most=MAX_BARS_PER_JOB)}
        return {}

    def plan(self, request: Request):
        return chunk_range(request.start, request.end, _span(request.interval))

    def fetch(self, request: Request, chunk, report_wait) -> pd.DataFrame:
        delay = request.options.get("delay", self.settings.sim_delay_seconds)
        if delay:
            time.sleep(delay)
        index = round((chunk.start - request.start) / _span(request.interval))  # chunks are equal spans
        fail = request.options.get("fail", "")
        if fail:
            mode, _, at = fail.partition(":")
            if int(at) == index:
                if mode == "permanent":
                    raise PermanentError(N_("Simulated permanent failure at chunk {chunk}.", chunk=index + 1))
                raise TransientError(N_("Simulated transient failure at chunk {chunk}.", chunk=index + 1),
                                     retry_after=0)
        return simulate(request.symbol, request.interval, self.kind(request.options), chunk.start, chunk.end)

    def close(self) -> None:
        pass


def _span(interval: str) -> timedelta:
    return timedelta(seconds=max(86400, interval_seconds(interval) * BARS_PER_CHUNK))


def _valid_fail(mode: str) -> bool:
    kind, _, at = mode.partition(":")
    return kind in ("permanent", "transient") and parse_whole(at) is not None and int(at) >= 0


def _noise(seed: int, ts: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) from a splitmix64 hash of (seed, ts, salt): stateless and vectorised."""
    with np.errstate(over="ignore"):
        x = ts.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64((seed + salt * 0xBF58476D) & (2**64 - 1))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


def _price(seed: int, base: float, ts: np.ndarray) -> np.ndarray:
    t = ts.astype(np.float64)
    phase = (seed % 1000) / 1000 * 2 * np.pi
    drift = 0.25 * np.sin(t / (86400 * 180) + phase) + 0.08 * np.sin(t / (86400 * 9) + 2 * phase)
    wiggle = 0.01 * np.sin(t / 3600 + phase) + 0.004 * (_noise(seed, ts, 1) - 0.5)
    return base * np.exp(drift + wiggle)


def simulate(symbol: str, interval: str, kind: str, start, end) -> pd.DataFrame:
    """The simulated bars of one series between start (inclusive) and end (exclusive)."""
    ts = sim_bar_times(interval, pd.Timestamp(start), pd.Timestamp(end))
    if ts.size == 0:
        return empty_bars()
    seed = int.from_bytes(hashlib.sha256(f"{symbol}|{interval}".encode()).digest()[:8], "big")
    base = 20 + (seed % 48000) / 100
    step = interval_seconds(interval) if is_intraday(interval) else 86400
    close = _price(seed, base, ts + step)
    open_ = _price(seed, base, ts)
    spread = 0.0005 * close
    if kind == "bid":
        open_, close = open_ - spread, close - spread
    elif kind == "ask":
        open_, close = open_ + spread, close + spread
    high = np.maximum(open_, close) * (1 + 0.002 * _noise(seed, ts, 2))
    low = np.minimum(open_, close) * (1 - 0.002 * _noise(seed, ts, 3))
    volume = np.floor(100 + 9900 * _noise(seed, ts, 4)) * max(1, step // 60)
    frame = pd.DataFrame(
        {"open": open_.round(4), "high": high.round(4), "low": low.round(4), "close": close.round(4),
         "volume": volume if kind == "trades" else np.zeros_like(volume),
         "wap": ((high + low + close) / 3).round(4) if kind == "trades" else np.nan,
         "trades": np.floor(volume / 50) if kind == "trades" else np.nan},
        index=pd.DatetimeIndex(pd.to_datetime(ts, unit="s", utc=True), name="ts"))
    return frame
