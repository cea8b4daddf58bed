"""The container files, checked without a Docker engine (there is none here)."""

import json
import re
from pathlib import Path

import check_jsonschema
import jsonschema
from ruamel.yaml import YAML

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
    assert services["collector"]["healthcheck"]["test"][-2:] == ["collector", "check"]
    assert "replicas" not in services["collector"].get("deploy", {})  # --scale collector=N works
    assert "container_name" not in services["collector"]
    for name in ("web", "collector"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["collector"]["environment"]["MDC_IB_HOST"].startswith("${MDC_IB_HOST:-host.docker.internal}")


def test_dockerfile_is_slim_non_root_and_layers_dependencies_first():
    text = (ROOT / "Dockerfile").read_text()
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
