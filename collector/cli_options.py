"""What the command line's commands share: source options given as --option NAME=VALUE."""

from __future__ import annotations

import argparse


def source_options(items: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    """{"adjusted": "true", ...} from ["adjusted=true", ...]; usage and exit 2 on a bad one."""
    options = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            parser.error(f"--option wants NAME=VALUE, got {item!r}")
        options[name.strip()] = value.strip()
    return options
