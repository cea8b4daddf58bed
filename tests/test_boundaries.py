"""The dependency runs webapp -> collector only."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_collector_never_imports_flask_or_webapp():
    code = ("import sys, collector, collector.worker.loop, collector.jobs.manager, collector.jobs.cleanup, collector.__main__, "
            "collector.sources.sim\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'webapp', 'htmx_flask', 'werkzeug'))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_collector_module_mentions_flask():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "collector").rglob("*.py")
                 if any(line.lstrip().startswith(("import flask", "from flask", "import webapp", "from webapp"))
                        for line in p.read_text().splitlines())]
    assert offenders == []
