"""The house rules: webapp -> collector's public face only, collector never imports Flask or
webapp, and no import circles anywhere (imports under TYPE_CHECKING count too)."""

import ast
import subprocess
import sys
from pathlib import Path

import collector

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("collector", "webapp")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, wherever the import statement is (inside a
    function or under TYPE_CHECKING too). `from pkg import sub` counts as importing pkg.sub."""
    is_package = path.name == "__init__.py"
    base = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known}


def test_webapp_imports_only_the_public_face_of_collector():
    known = modules()
    offenders = {name: sorted(m for m in imports(name, path, known) if m.startswith("collector."))
                 for name, path in known.items() if name.startswith("webapp")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_circles():
    known = modules()
    graph = {name: imports(name, path, known) - {name} for name, path in known.items()}
    circles = []

    def visit(node, trail, on_trail, done):
        for nxt in sorted(graph[node]):
            if nxt in on_trail:
                circles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in done:
                on_trail.add(nxt)
                visit(nxt, trail + [nxt], on_trail, done)
                on_trail.discard(nxt)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], {start}, done)
    assert circles == []


def test_every_public_name_resolves_and_no_submodule_shadows_one():
    for name in collector.__all__:
        assert getattr(collector, name) is not None, name
        # Importing a submodule sets the package attribute of its name: it would replace the export.
        assert not (ROOT / "collector" / f"{name}.py").exists() and not (ROOT / "collector" / name).is_dir(), name


def test_importing_collector_never_imports_flask_or_webapp():
    code = ("import sys, collector, collector.worker, collector.services, collector.__main__, collector.sources.sim\n"
            "[getattr(collector, n) for n in collector.__all__]\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'webapp', 'htmx_flask', 'werkzeug'))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_health_check_command_loads_no_pandas():
    code = ("import sys, collector.__main__ as cli\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'sqlalchemy', 'yfinance')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_no_collector_module_mentions_flask():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "collector").rglob("*.py")
                 if any(line.lstrip().startswith(("import flask", "from flask", "import webapp", "from webapp"))
                        for line in p.read_text().splitlines())]
    assert offenders == []
