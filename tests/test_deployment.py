"""The container files, checked without a Docker engine (test_compose.py runs them for real)."""

import json
import re
from dataclasses import fields
from pathlib import Path

import check_jsonschema
import jsonschema
from ruamel.yaml import YAML

from collector.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"


def compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_matches_the_compose_spec_schema():
    jsonschema.validate(compose(), json.loads(SCHEMA.read_text()))


def test_compose_services_have_what_operators_need():
    services = compose()["services"]
    assert "--appendonly" in services["redis"]["command"] and services["redis"]["volumes"]
    assert "healthcheck" in services["postgres"] and services["postgres"]["volumes"]
    assert services["web"]["ports"][0].startswith("${MDC_WEB_BIND:-127.0.0.1}:")
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["collector"]["healthcheck"]["test"][-3:] == ["collector", "check", "--self"]
    assert services["collector"]["environment"]["MDC_COLLECTOR_NAME"] == "{hostname}"  # what --self checks
    assert "replicas" not in services["collector"].get("deploy", {})  # --scale collector=N works
    assert "container_name" not in services["collector"]
    for name in ("web", "collector"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        # compose stops what others depend on last: PostgreSQL must outlive the warm hand-back
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("web", "collector", "postgres"):
        assert services[name]["healthcheck"]["start_period"]
    assert services["collector"]["environment"]["MDC_IB_HOST"].startswith("${MDC_IB_HOST:-host.docker.internal}")


# Settings that compose must not take from .env, and why.
NOT_PASSED = {
    "MDC_DATA_DIR": "the image's /data volume",
    "MDC_COLLECTOR_NAME": "set per container ({hostname})",
    "MDC_WEB_HOST": "make run only: gunicorn binds 0.0.0.0 inside the container",
    "MDC_WEB_PORT": "in compose the host port (ports:), not a setting of the app",
    "MDC_COLLECTORS": "make run only: compose scales with --scale collector=N",
}


def test_every_setting_reaches_the_containers():
    passed = set(compose()["x-mdc-env"])
    settings = {env_name(f.name) for f in fields(Settings) if f.name != "extra"}
    assert settings - set(NOT_PASSED) <= passed, f"not passed to the containers: {settings - set(NOT_PASSED) - passed}"
    assert "MDC_COLLECTOR_NAME" not in passed and "MDC_DATA_DIR" not in passed


def test_the_database_password_stays_out_of_the_url():
    env = compose()["x-mdc-env"]
    assert "@postgres:5432/" in env["DATABASE_URL"] and "POSTGRES_PASSWORD" not in env["DATABASE_URL"]
    assert env["PGPASSWORD"] == compose()["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]


def env_example() -> list[tuple[str, str, str]]:
    """(variable, value, the comment above it) for every line of .env.example."""
    rows, comment = [], ""
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#"):
            comment += line
        elif "=" in line:
            name, value = line.split("=", 1)
            rows.append((name, value, comment))
            comment = ""
        else:
            comment = ""
    return rows


def test_env_example_lists_every_passed_setting_with_a_comment_and_its_default():
    rows = env_example()
    assert all(comment.strip("# -") for _name, _value, comment in rows), [n for n, _v, c in rows if not c]
    listed = {name for name, _value, _comment in rows}
    passed = {name for name in compose()["x-mdc-env"] if name.startswith("MDC_")}
    assert passed <= listed, passed - listed
    compose_defaults = {"MDC_IB_HOST", "MDC_WEB_BIND"}  # compose's own defaults, not the program's
    example = {name: value for name, value, _comment in rows
               if name.startswith("MDC_") and name in passed and name not in compose_defaults}
    defaults = Settings()
    configured = Settings.from_env(example)
    for f in fields(Settings):
        if env_name(f.name) in example:
            assert getattr(configured, f.name) == getattr(defaults, f.name), env_name(f.name)


def test_dockerfile_is_slim_non_root_and_layers_dependencies_first():
    text = (ROOT / "Dockerfile").read_text()
    # bytecode is compiled at build time and nothing stops Python from using it
    assert "compileall" in text and "PYTHONDONTWRITEBYTECODE" not in text
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    assert re.search(r"^USER mdc$", text, re.M)
    assert "build-essential" not in text and "gcc" not in text
    assert text.index("requirements.txt") < text.index("COPY --chown=mdc:mdc collector")


def test_env_example_covers_the_compose_variables():
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    used = set(re.findall(r"\$\{(\w+):-", (ROOT / "docker-compose.yml").read_text()))
    assert used <= example, used - example


def test_the_schema_check_would_catch_a_mistake():
    broken = compose()
    broken["services"]["web"]["healthcheck"]["retries"] = "many"
    broken["services"]["web"]["restart_policy"] = "always"
    try:
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("an invalid compose file passed the schema")
