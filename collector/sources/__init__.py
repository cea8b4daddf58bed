"""Data sources. Each is imported only when used, so the sim source never loads yfinance."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .base import PermanentError, Source, SourceError, TransientError

if TYPE_CHECKING:
    from collector.settings import Settings

# name -> (module, class, label people see)
SOURCES: dict[str, tuple[str, str, str]] = {
    "yahoo": ("collector.sources.yahoo.source", "YahooSource", "Yahoo Finance"),
    "ibkr": ("collector.sources.ibkr.source", "IbkrSource", "Interactive Brokers"),
    "sim": ("collector.sources.sim", "SimSource", "Simulated"),
}


def source_label(name: str) -> str:
    return SOURCES[name][2] if name in SOURCES else name


def load_source(name: str, settings: "Settings", **kwargs) -> Source:
    """Build the source called `name`; KeyError for an unknown one."""
    module_name, class_name, _ = SOURCES[name]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(settings, **kwargs)


__all__ = ["SOURCES", "Source", "SourceError", "PermanentError", "TransientError",
           "load_source", "source_label"]
