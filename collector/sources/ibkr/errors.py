"""What IB's error codes mean for a job: retry, give up, or treat as "no bars here".

IB reports every failure as (code, text); code 162 alone covers pacing violations,
empty ranges, missing permissions and cancelled queries, so its text decides.
See https://interactivebrokers.github.io/tws-api/message_codes.html
"""

from __future__ import annotations

import socket

from collector.i18n import N_
from collector.sources.base import PermanentError, SourceError, TransientError

# How long to stay away after IB itself reported a pacing violation. IB does not say;
# a minute lets the identical-request and burst windows pass and keeps retries few.
PACING_VIOLATION_RETRY_S = 60.0

# Connectivity trouble between this process, the Gateway and IB's servers: the
# connection is dropped and built again on the next fetch.
CONNECTIVITY_CODES = frozenset({502, 504, 1100, 1300})
# 1101/1102 say connectivity came back; 2104/2106/2158/2119 report data farm status.
INFO_CODES = frozenset({1101, 1102, 2103, 2104, 2105, 2106, 2107, 2108, 2119, 2158})
CLIENT_ID_IN_USE = 326


class PacingViolation(TransientError):
    """IB says we asked too often; every collector should hold back, not just this one."""


class NoData(Exception):
    """IB answered "no data" for the range: the chunk is done and holds no bars."""


def unreachable_message(host: str, port: int) -> str:
    return N_("Cannot reach IB Gateway at {host}:{port!s} from this machine: check that TWS or IB Gateway "
              "is running with the API enabled, or MDC_IB_HOST and MDC_IB_PORT.", host=host, port=port)


def is_unreachable(exc: BaseException) -> bool:
    """Nothing listens at the address, or its name does not resolve: not worth many retries."""
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        return True
    # asyncio joins the errors of every address a name resolves to into one OSError
    return type(exc) is OSError and "Connect call failed" in str(exc)


def classify(code: int, text: str, symbol: str = "") -> SourceError | NoData:
    """The exception a failed request with this IB error should become."""
    lowered = text.lower()
    what = N_(" for {symbol}", symbol=symbol) if symbol else ""  # "IB error 321 for AAPL: ..."
    said = dict(what=what, code=code, text=text)
    if code == 162:
        if "pacing violation" in lowered:
            return PacingViolation(N_("IB reported a pacing violation{what}; waiting before the next request", **said),
                                   retry_after=PACING_VIOLATION_RETRY_S)
        if "returned no data" in lowered or ("no data" in lowered and "hmds" in lowered):
            return NoData(text)
        if "permission" in lowered or "not subscribed" in lowered:
            return PermanentError(N_("No market data permissions{what} on this IB account (IB error 162: {text})",
                                     **said))
        return TransientError(N_("IB historical data service error{what}: {text}", **said))
    if code == 200:
        contract = symbol or N_("this contract")
        return PermanentError(N_("IB has no security definition for {contract}: check the symbol, currency and "
                                 "primary exchange", contract=contract))
    if code in (321, 322):
        return PermanentError(N_("IB rejected the request{what} (error {code!s}): {text}", **said))
    if code == 354:
        return PermanentError(N_("No market data subscription{what} on this IB account (IB error 354: {text})",
                                 **said))
    if code == CLIENT_ID_IN_USE:
        return TransientError(N_("IB client id already in use: {text}", **said), retry_after=1.0)
    if code in CONNECTIVITY_CODES:
        return TransientError(N_("IB Gateway lost its connection (error {code!s}): {text}", **said))
    if code == 366:  # "No historical data query found": the query was dropped on IB's side
        return TransientError(N_("IB dropped the historical data query{what}: {text}", **said))
    return TransientError(N_("IB error {code!s}{what}: {text}", **said))
