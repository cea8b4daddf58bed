"""Data sources. Each is imported only when used, so the sim source never loads yfinance."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from collector.i18n import N_

from .base import Interrupted, PermanentError, Source, SourceError, TransientError, Unreachable

if TYPE_CHECKING:
    from collector.settings import Settings

# name -> (module, class, label people see: a Message, "Simulé" on French pages)
SOURCES: dict[str, tuple[str, str, str]] = {
    "yahoo": ("collector.sources.yahoo.source", "YahooSource", N_("Yahoo Finance")),
    "ibkr": ("collector.sources.ibkr.source", "IbkrSource", N_("Interactive Brokers")),
    "sim": ("collector.sources.sim", "SimSource", N_("Simulated")),
}


def source_label(name: str) -> str:
    return SOURCES[name][2] if name in SOURCES else name


def load_source(name: str, settings: "Settings", **kwargs) -> Source:
    """Build the source called `name`; KeyError for an unknown one."""
    module_name, class_name, _ = SOURCES[name]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(settings, **kwargs)


class SourceSet:
    """The sources one process uses, each built on first use (with the Redis client that
    paces it, in collectors) and closed together."""

    def __init__(self, settings: "Settings", redis: Any = None):
        self.settings = settings
        self.redis = redis
        self._built: dict[str, Source] = {}

    def get(self, name: str) -> Source:
        """The source called `name`; KeyError for an unknown one."""
        if name not in self._built:
            self._built[name] = load_source(name, self.settings, redis=self.redis)
        return self._built[name]

    def option_names(self) -> dict[str, tuple[str, ...]]:
        """The options each source takes from a form or curl."""
        return {name: tuple(getattr(self.get(name), "option_names", ())) for name in SOURCES}

    def option_choices(self, name: str) -> dict[str, tuple[str, ...]]:
        """For options with a fixed set of values, the values (what a form offers)."""
        return dict(getattr(self.get(name), "option_choices", {}))

    def close(self) -> None:
        for source in self._built.values():
            source.close()


__all__ = ["SOURCES", "Interrupted", "Source", "SourceError", "PermanentError", "TransientError", "Unreachable",
           "SourceSet", "load_source", "source_label"]
