"""docker-compose.yml, Dockerfile and .dockerignore: what a user running `docker compose up` relies on.

No Docker engine runs here, so these read the files; `docker compose config` runs when the plugin is installed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError

from service.core.config import REPO_ROOT, Settings, describe_validation_error

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat", "flower")
TEST_SECRET = "a-test-secret-key-of-some-length"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH"}  # read by compose or Flower, not by our Settings


def env(service: str) -> dict[str, str]:
    """A service's environment as a dict, whether written as a mapping or a list."""
    raw = SERVICES[service].get("environment", {})
    return dict(item.split("=", 1) for item in raw) if isinstance(raw, list) else {k: str(v) for k, v in raw.items()}


def interpolate(value: str, values: dict[str, str] | None = None) -> str:
    """What compose makes of ${VAR:-default} and ${VAR:?error}, nested too, when only `values` are set."""
    given = values if values is not None else {"SECRET_KEY": TEST_SECRET}

    def one(match: re.Match) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        return given.get(name, rest if op == ":-" else "")

    while (replaced := re.sub(r"\$\{(\w+)(:[-?])?([^${}]*)\}", one, value)) != value:  # innermost first
        value = replaced
    return value


def command(service: str) -> str:
    cmd = SERVICES[service]["command"]
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_all_seven_services_exist():
    assert set(SERVICES) >= {"postgres", "redis", "web", "worker", "beat", "flower", "mailpit"}
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7")
    assert SERVICES["mailpit"]["image"].startswith("axllent/mailpit")
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["redis"]["healthcheck"]["test"]
    volume = SERVICES["postgres"]["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"], "postgres data must live in a named volume"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_reach_postgres_redis_and_mailpit(service):
    app_env = {k: interpolate(v) for k, v in env(service).items()}
    pg = {k: interpolate(v) for k, v in env("postgres").items()}
    db = urlsplit(app_env["DATABASE_URL"])
    assert (db.scheme, db.hostname, db.port) == ("postgresql+psycopg", "postgres", 5432)
    assert (db.username, db.password, db.path.lstrip("/")) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    broker = urlsplit(app_env["BROKER_URL"])
    assert (broker.scheme, broker.hostname) == ("redis", "redis")
    smtp = urlsplit(app_env["SMTP_URL"])
    assert (smtp.scheme, smtp.hostname, smtp.port) == ("smtp", "mailpit", 1025)
    assert "BASE_URL" in app_env and "MAIL_FROM" in app_env and "POSTAL_ADDRESS" in app_env


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_run_in_production_with_a_required_secret(service):
    app_env = env(service)
    assert app_env["ENVIRONMENT"] != "development"
    assert app_env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "compose must refuse to start without SECRET_KEY"
    settings = Settings(_env_file=None, **{k.lower(): interpolate(v) for k, v in app_env.items()})
    assert settings.base_url == "http://localhost:8000"
    assert not settings.uses_embedded_broker and not settings.uses_embedded_smtp


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(service):
    depends = SERVICES[service]["depends_on"]
    assert depends["redis"]["condition"] == "service_healthy"
    assert all(entry["condition"] in ("service_healthy", "service_started") for entry in depends.values())
    if service != "flower":
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["mailpit"]["condition"] == "service_healthy"


def test_web_migrates_then_serves_on_a_published_port_with_a_healthcheck():
    web = SERVICES["web"]
    cmd = command("web")
    assert cmd.index("newsletter db upgrade") < cmd.index("newsletter web")
    assert web["environment"]["HOST"] == "0.0.0.0", "inside a container the server must listen on every interface"
    assert any(str(p).endswith(":8000") for p in web["ports"])
    assert "/healthz" in " ".join(web["healthcheck"]["test"]) or "/readyz" in " ".join(web["healthcheck"]["test"])
    assert any(str(p).endswith(":8025") for p in SERVICES["mailpit"]["ports"]), "Mailpit's UI must be reachable"


def test_worker_and_beat_run_the_celery_app():
    assert command("worker").startswith("celery -A worker worker")
    assert command("beat").startswith("celery -A worker beat")
    assert (REPO_ROOT / "worker.py").is_file()


def test_workers_scale_and_send_task_events():
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker, "--scale worker=N needs no fixed name or port"
    assert "-E" in command("worker").split()
    assert SERVICES["worker"]["depends_on"]["web"]["condition"] == "service_healthy", "migrations first"


def test_exactly_one_beat():
    beat = SERVICES["beat"]
    assert beat["deploy"]["replicas"] == 1 and "container_name" not in beat
    assert "heartbeats" in " ".join(beat["healthcheck"]["test"])


def test_flower_runs_behind_basic_auth_that_must_be_set():
    flower = SERVICES["flower"]
    assert command("flower").startswith("celery -A worker flower")
    assert env("flower")["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?"), "no Flower without a password"
    assert all(str(port).startswith("127.0.0.1:") for port in flower["ports"]), "Flower only on this machine"
    assert "/healthcheck" in " ".join(flower["healthcheck"]["test"])


def test_every_service_has_a_healthcheck_and_named_volumes():
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            assert source.startswith((".", "/")) or source in COMPOSE["volumes"], f"{name}: {source} is not declared"
    assert set(COMPOSE["volumes"]) >= {"postgres-data", "redis-data"}


def _example() -> tuple[dict[str, str], set[str]]:
    """.env.example: its set values, and the names it mentions only in comments (`# NAME=...`)."""
    values, commented = {}, set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip()):
            if match.group(1):
                commented.add(match.group(2))
            else:
                values[match.group(2)] = match.group(3)
    return values, commented


def test_env_example_lists_every_setting_compose_reads():
    values, commented = _example()
    referenced = set(re.findall(r"\$\{(\w+)", (REPO_ROOT / "docker-compose.yml").read_text()))
    assert referenced <= set(values) | commented, f"missing from .env.example: {referenced - set(values) - commented}"
    for needed in (
        "SECRET_KEY",
        "BASE_URL",
        "MAIL_FROM",
        "POSTAL_ADDRESS",
        "METRICS_TOKEN",
        "FLOWER_BASIC_AUTH",
        "LOG_FORMAT",
        "ADMIN_SESSION_HOURS",
    ):
        assert needed in values, needed
    assert "ADMIN_TOKEN" in commented, "an empty ADMIN_TOKEN would be refused: it is offered as a comment"
    known = {name.upper() for name in Settings.model_fields} | COMPOSE_ONLY
    assert set(values) | commented <= known, f"unknown settings: {(set(values) | commented) - known}"
    assert ":" in values["FLOWER_BASIC_AUTH"]


def _production_settings(service: str, values: dict[str, str]) -> Settings:
    """What an app container's Settings would be, given these .env values."""
    merged = {**values, **{k: interpolate(v, values) for k, v in env(service).items()}}
    return Settings(_env_file=None, **{k.lower(): v for k, v in merged.items() if k not in COMPOSE_ONLY})


def test_env_example_as_shipped_is_refused_with_how_to_make_real_keys():
    values, _ = _example()
    with pytest.raises(ValidationError) as refused:
        _production_settings("web", values)
    lines = describe_validation_error(refused.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["SECRET_KEY", "METRICS_TOKEN"], lines
    assert all("secrets.token_urlsafe(48)" in line and "change-me" in line for line in lines), lines
    assert "secrets.token_urlsafe(48)" in ENV_EXAMPLE.read_text() and "token_urlsafe(48)" in env("web")["SECRET_KEY"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_env_example_with_real_keys_and_compose_makes_valid_production_settings(service):
    values, _ = _example()
    values = {**values, "SECRET_KEY": secrets.token_urlsafe(48), "METRICS_TOKEN": secrets.token_urlsafe(48)}
    settings = _production_settings(service, values)
    assert settings.environment == "production" and settings.metrics_token == values["METRICS_TOKEN"]
    assert settings.effective_database_url.endswith(f":{values['POSTGRES_PASSWORD']}@postgres:5432/newsletter")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_build_context_has_a_sensible_dockerfile(service):
    build = SERVICES[service]["build"]
    context = REPO_ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
    text = dockerfile.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0"), "the app must not run as root"
    assert re.search(r"^WORKDIR /app$", text, re.M)
    assert "pip install" in text and ("-e ." in text or "TEMPLATES_DIR=/app/templates" in text), (
        "templates/ must be found at run time"
    )
    assert "DATA_DIR=/app/var" in text
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", text, re.M)[-1])
    assert cmd == ["newsletter", "web"]
    assert "HOST=0.0.0.0" in text


def test_dockerignore_keeps_local_state_out_but_not_the_code():
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", "var", "test-output", ".git", ".pytest_cache"):
        assert entry in ignored
    assert any("__pycache__" in entry for entry in ignored)
    for needed in ("service", "templates", "worker.py", "pyproject.toml"):
        assert needed not in ignored


@pytest.mark.processes
def test_docker_compose_config_is_valid():
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the `docker compose` plugin is not installed on this machine")
    result = subprocess.run(
        [docker, "compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=REPO_ROOT,
        env={**os.environ, "SECRET_KEY": TEST_SECRET},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
