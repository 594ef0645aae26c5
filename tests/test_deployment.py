"""docker-compose.yml stays plain and correct: the services docs/deployment.md describes, env
names the settings know, a start order that waits on health, one port in front."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
# Read by uvicorn itself, not by Settings: whose X-Forwarded-For to believe.
UVICORN_ENV = {"FORWARDED_ALLOW_IPS"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return compose["services"]


def _substituted(value: str) -> str:
    """${NAME:-default} and ${NAME:?message} as compose fills them (the default, or a value)."""
    return re.sub(
        r"\$\{(\w+)(?::([?-])([^}]*))?\}",
        lambda m: m.group(3) if m.group(2) == "-" else f"{m.group(1).lower()}-value",
        value,
    )


def _env_names() -> set[str]:
    """Every environment name Settings reads: NEWSROOM_<field> and the plain aliases."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"NEWSROOM_{name.upper()}")
        names |= {str(c) for c in getattr(field.validation_alias, "choices", [])}
    return names


def test_compose_has_the_database_an_indexer_two_replicas_and_one_proxy(services) -> None:
    assert set(services) == {"db", "index", "app", "proxy"}
    assert services["app"]["deploy"]["replicas"] == 2
    db = services["db"]
    assert re.fullmatch(r"pgvector/pgvector:pg1[78]", db["image"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published == services["proxy"]["ports"] and len(published) == 1


def test_every_environment_name_is_one_the_settings_read(services) -> None:
    known = _env_names() | UVICORN_ENV
    for name in ("index", "app"):
        env = services[name]["environment"]
        assert set(env) <= known, f"{name}: {set(env) - known} is read by nothing"
        assert "NEWSROOM_DATABASE_URL" in env


def test_the_apps_settings_load_from_their_environment(services, monkeypatch) -> None:
    for key, value in services["app"]["environment"].items():
        monkeypatch.setenv(key, _substituted(str(value)))
    url = urlsplit(Settings().database_url or "")
    db = services["db"]["environment"]
    assert url.hostname == "db", "the database is reached by its service name"
    assert url.username == db["POSTGRES_USER"] and url.path == f"/{db['POSTGRES_DB']}"
    assert url.password == _substituted(db["POSTGRES_PASSWORD"])


def test_start_order_waits_for_health_then_the_indexer(services) -> None:
    assert services["index"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["app"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "index": {"condition": "service_completed_successfully"},
    }
    assert services["proxy"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    # service_healthy on the app needs a healthcheck: the image's own.
    assert "HEALTHCHECK" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_the_proxy_sends_to_the_replicas_on_the_port_they_serve(services) -> None:
    mount = services["proxy"]["volumes"][0].split(":")
    conf = (ROOT / mount[0]).read_text(encoding="utf-8")
    assert mount[1] == "/etc/nginx/conf.d/default.conf"
    command = services["app"]["command"]
    port = command[command.index("--port") + 1]
    assert re.findall(r"server (\w+):(\d+)", conf) == [("app", port)]
    listen = re.search(r"listen (\d+);", conf)
    assert listen and services["proxy"]["ports"][0].endswith(f":{listen.group(1)}")
    # The upload limit in front is no smaller than the app's own.
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size and int(size.group(1)) * 2**20 >= Settings().max_body_bytes
