"""One connection to TWS / IB Gateway per collector, driven from synchronous code.

ib_insync is asyncio-based; the collector loop is not. Each connection owns a private
event loop that runs only while a call is in progress (`run`), so it works from any plain
thread without nest_asyncio. Client ids are claimed in Redis, so two collectors never
present the same id to the Gateway (which would refuse the second with error 326).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import sys
import time
from typing import Any, Awaitable, Callable

from collector.i18n import N_
from collector.sources.base import TransientError, Unreachable, WaitReporter, sleeper

from .client_ids import ClientIdClaim
from .errors import CLIENT_ID_IN_USE, CONNECTIVITY_CODES, is_unreachable, unreachable_message


def import_ib() -> Any:
    """ib_insync (or its successor ib_async, same API), imported on first use.

    eventkit asks for the thread's event loop at import time, which fails outside the
    main thread unless one is set; so a loop is set for the import. eventkit keeps that
    loop for itself, so it is left open.
    """
    for name in ("ib_insync", "ib_async"):
        if name in sys.modules:
            return sys.modules[name]
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        try:
            return importlib.import_module("ib_insync")
        except ImportError:
            return importlib.import_module("ib_async")
    finally:
        asyncio.set_event_loop(None)


class _ExpectedIbErrors(logging.Filter):
    """Drops ib_insync's ERROR lines for answers the source treats as normal: 162 "HMDS
    query returned no data" (a range without trading; the chunk just has no bars)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        return not (message.startswith("Error 162,") and "returned no data" in message)


_FILTER = _ExpectedIbErrors()


def quiet_expected_ib_errors() -> None:
    """Install the filter (idempotent). ib_insync logs request errors on its
    "ib_insync.wrapper" logger; a filter on a parent logger would not see them."""
    for name in ("ib_insync", "ib_insync.wrapper", "ib_async", "ib_async.wrapper"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class _ClientIdInUse(Exception):
    pass


class IbConnection:
    """Connect lazily, reuse across jobs, reconnect with capped exponential backoff."""

    def __init__(self, host: str, port: int, claim: ClientIdClaim, *, connect_timeout: float = 10.0,
                 backoff_base: float = 1.0, backoff_max: float = 60.0):
        self.host, self.port, self.claim = host, port, claim
        self.connect_timeout = connect_timeout
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.ib: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._trouble: asyncio.Future | None = None  # resolves to a TransientError on trouble
        self._refused: set[int] = set()  # ids the Gateway said are in use (by other programs)
        self._failures = 0
        self._next_attempt = 0.0

    @property
    def client_id(self) -> int | None:
        return self.claim.current if self.ib is not None else None

    def ensure_connected(self, report_wait: WaitReporter) -> Any:
        """The connected IB object; raises TransientError when the Gateway is unreachable."""
        if self.ib is not None:
            self._pump()  # let a pending disconnect or error surface before trusting the socket
            if self.ib is not None and self.ib.isConnected():
                return self.ib
            self.drop()
        delay = self._next_attempt - time.monotonic()
        if delay > 0:
            report_wait(N_("reconnecting to IB Gateway in {seconds} s", seconds=math.ceil(delay)))
            sleeper(report_wait)(delay)
        ib_mod = import_ib()
        for _ in range(4):  # a client id taken outside mdc costs one quick retry each
            client_id = self.claim.claim(self._refused)
            try:
                self._call(self._connect(ib_mod, client_id))
            except _ClientIdInUse:
                self._refused.add(client_id)
                self.claim.release()
                continue
            except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
                self.claim.release()
                self._failures += 1
                backoff = min(self.backoff_max, self.backoff_base * 2 ** (self._failures - 1))
                self._next_attempt = time.monotonic() + backoff
                error = Unreachable if is_unreachable(exc) else TransientError
                raise error(unreachable_message(self.host, self.port), retry_after=backoff) from exc
            self._failures, self._next_attempt = 0, 0.0
            return self.ib
        raise TransientError(N_("IB Gateway at {host}:{port!s} refused client ids {ids} as already in use",
                                host=self.host, port=self.port, ids=", ".join(map(str, sorted(self._refused)))),
                             retry_after=self.backoff_max)

    def run(self, make: Callable[[], Awaitable], timeout: float | None) -> Any:
        """Run the request `make()` returns (built inside the loop, since some ib_insync
        calls create futures right away); connectivity trouble or a timeout drops the
        connection."""
        try:
            return self._call(self._guarded(make, timeout))
        except (ConnectionError, OSError) as exc:
            self.drop()
            raise TransientError(N_("Lost the connection to IB Gateway at {host}:{port!s}; it will be rebuilt on "
                                    "the next attempt", host=self.host, port=self.port)) from exc
        except TransientError:
            self.drop()
            raise

    def drop(self) -> None:
        """Disconnect (if connected) and give up the client id."""
        ib, self.ib = self.ib, None
        if ib is not None and self._loop is not None:
            ib.disconnect()
            self._pump(ib_check=False)  # let the transport finish closing inside the loop
        self.claim.release()

    def close(self) -> None:
        self.drop()
        loop, self._loop = self._loop, None
        if loop is not None:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            asyncio.set_event_loop(None)

    # -- inside the event loop ------------------------------------------------------------

    async def _connect(self, ib_mod: Any, client_id: int) -> None:
        ib = ib_mod.IB()
        ib.RaiseRequestErrors = True  # a failed request raises instead of returning nothing
        loop = asyncio.get_running_loop()
        refused = loop.create_future()

        def on_connect_error(req_id, code, text, contract=None) -> None:
            if code == CLIENT_ID_IN_USE and not refused.done():
                refused.set_result(text)

        ib.errorEvent += on_connect_error
        task = asyncio.ensure_future(ib.connectAsync(self.host, self.port, clientId=client_id,
                                                     timeout=self.connect_timeout, readonly=True))
        try:
            await asyncio.wait({task, refused}, timeout=self.connect_timeout * 2,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ib.errorEvent -= on_connect_error
        if refused.done() or not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            ib.disconnect()
            if refused.done():
                raise _ClientIdInUse(refused.result())
            raise asyncio.TimeoutError("connect timed out")
        task.result()
        self._trouble = loop.create_future()
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected
        self.ib = ib

    def _on_error(self, req_id, code, text, contract=None) -> None:
        if code in CONNECTIVITY_CODES:
            self._flag(TransientError(N_("IB Gateway lost its connection (error {code!s}): {text}", code=code,
                                         text=text)))

    def _on_disconnected(self) -> None:
        self._flag(TransientError(N_("IB Gateway at {host}:{port!s} closed the connection", host=self.host,
                                     port=self.port)))

    def _flag(self, error: TransientError) -> None:
        if self._trouble is not None and not self._trouble.done():
            self._trouble.set_result(error)

    async def _guarded(self, make: Callable[[], Awaitable], timeout: float | None) -> Any:
        task = asyncio.ensure_future(make())
        trouble = self._trouble
        waiting = {task} if trouble is None else {task, trouble}
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if trouble is not None and trouble in done:
            raise trouble.result()
        raise TransientError(N_("IB Gateway did not answer within {seconds:g} s", seconds=timeout))

    # -- driving the loop from synchronous code -------------------------------------------

    def _call(self, coro: Awaitable) -> Any:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        # ib_insync looks the loop up per thread, so make ours current wherever we are called
        asyncio.set_event_loop(self._loop)
        return self._loop.run_until_complete(coro)

    def _pump(self, ib_check: bool = True) -> None:
        async def spin() -> None:
            for _ in range(3):
                await asyncio.sleep(0)

        self._call(spin())
        if ib_check and self._trouble is not None and self._trouble.done():
            self.drop()
