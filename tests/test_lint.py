"""Pyflakes and import order (ruff, configured in ruff.toml) over the whole code base:
an unused import or an undefined name fails the suite, not a reviewer's eye."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run([ruff, "check", "--no-cache", "collector", "webapp", "tests", "bench", "wsgi.py"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
