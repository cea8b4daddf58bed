"""yfinance plumbing: the HTTP session it uses, and its process-wide state.

yfinance has no base-URL setting and keeps one session for the whole process (the
`YfData` singleton), so:
- `YahooSession` is a curl_cffi session that sends every request (chart API, cookie,
  crumb, consent pages) to `base_url` when one is set, keeping path and query, and
  waits for the shared pacing slot before each request. The real yfinance code path
  runs unchanged on top of it.
- `yfinance_call(session)` is held around each use of yfinance: it configures yfinance
  once per process, installs this session on the singleton (dropping a cookie/crumb
  minted by another server) and empties yfinance's memo of old ranges, so a retry or a
  later job asks again instead of reusing an answer kept in memory.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import yfinance as yf
from curl_cffi import requests as curl_requests
from yfinance.data import YfData

_configured_lock = threading.Lock()
_configured = False
# One yfinance call at a time per process: the session lives on a process-wide singleton.
_call_lock = threading.RLock()
_installed_session: "YahooSession | None" = None


class YahooSession(curl_requests.Session):
    """curl_cffi session that rewrites Yahoo's hosts to `base_url` and paces requests."""

    def __init__(self, base_url: str = "", before_request: Callable[[], None] | None = None,
                 **kwargs):
        kwargs.setdefault("impersonate", "chrome")
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.before_request = before_request

    def rewrite(self, url: str) -> str:
        """https://query2.finance.yahoo.com/v8/... -> {base_url}/v8/... (path and query kept)."""
        if not self.base_url:
            return url
        base, target = urlsplit(self.base_url), urlsplit(url)
        path = base.path.rstrip("/") + (target.path or "/")
        return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))

    def request(self, method, url, *args, **kwargs):
        if self.before_request is not None:
            self.before_request()
        return super().request(method, self.rewrite(url), *args, **kwargs)


def configure_yfinance(cache_dir: Path) -> None:
    """Once per process: errors raise, caches live under `cache_dir` (never $HOME)."""
    global _configured
    with _configured_lock:
        if _configured:
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(cache_dir))
        yf.config.debug.hide_exceptions = False
        _configured = True


@contextlib.contextmanager
def yfinance_call(session: YahooSession) -> Iterator[None]:
    """Run yfinance with `session` as the process' session, pandas warnings silenced."""
    global _installed_session
    with _call_lock, warnings.catch_warnings():
        # yfinance 1.7.0 uses pandas APIs that pandas 3.x deprecates (Pandas4Warning on
        # inplace=True); they are yfinance's to fix and must not fail a warnings-as-errors run.
        _ignore_pandas_warnings()
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=r"yfinance(\.|$)")
        data = YfData(session=session)
        if _installed_session is not session:
            # A cookie or crumb from another server (or another base URL) means nothing here.
            with data._cookie_lock:
                data._cookie = None
                data._crumb = None
            _installed_session = session
        # Ranges that ended >30 min ago are memoised by URL, which ignores the base URL
        # and hides fresh data from a retry; a collector always wants the server's answer.
        YfData.cache_get.cache_clear()
        yield


def _ignore_pandas_warnings() -> None:
    try:
        from pandas.errors import Pandas4Warning  # pandas >= 3.0
    except ImportError:  # pragma: no cover - older pandas
        return
    warnings.simplefilter("ignore", Pandas4Warning)
