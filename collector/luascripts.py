"""Lua scripts live as .lua files beside the code that runs them: diffable, readable, and
registered once per client (EVALSHA, with redis-py falling back to EVAL after a restart)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import redis
from redis.commands.core import Script


@lru_cache(maxsize=None)
def _source(path: Path) -> str:
    return path.read_text()


def register(client: redis.Redis, beside: str, name: str) -> Script:
    """The script `name`.lua from the folder of the module file `beside` (pass __file__),
    or from its `lua/` subfolder."""
    folder = Path(beside).parent
    path = folder / f"{name}.lua"
    if not path.exists():
        path = folder / "lua" / f"{name}.lua"
    return client.register_script(_source(path))
