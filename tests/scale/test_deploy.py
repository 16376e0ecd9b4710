"""The production example (docker-compose.yml, deploy/nginx.conf, deploy/env.example) holds
together: no Docker or nginx runs here, so what can be checked is checked as text."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BOTS = ("bot1", "bot2")


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def nginx_lines() -> list[str]:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    return [line.split("#", 1)[0].strip() for line in text.splitlines()]


def test_compose_has_postgres_two_replicas_and_a_proxy() -> None:
    """Both replicas run the same image with the same settings, on PostgreSQL, in webhook
    mode, each with a health check; every DALSBOT_ variable is a real setting."""
    services = compose()["services"]
    assert isinstance(services, dict)
    assert set(services) == {"postgres", *BOTS, "nginx"}
    environments = [services[name]["environment"] for name in BOTS]
    assert environments[0] == environments[1]
    env = environments[0]
    assert env["DALSBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["DALSBOT_DATABASE_URL"]
    assert env["DALSBOT_WEBHOOK_URL"].startswith("https://")
    assert env["DALSBOT_PULSE_SECRET"]  # shared: never generated per container
    for name in env:
        assert name.startswith("DALSBOT_")
        assert name.removeprefix("DALSBOT_").lower() in Settings.model_fields, name
    for name in BOTS:
        assert "healthz" in " ".join(services[name]["healthcheck"]["test"])
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_nginx_balances_the_replicas_on_the_webhook_path_only() -> None:
    """The upstream is the compose replicas on their webhook port; the one public location is
    the webhook URL's path; nothing else (health, metrics) is reachable through it."""
    env = compose()["services"]["bot1"]["environment"]  # type: ignore[index]
    port = env["DALSBOT_WEBHOOK_PORT"]
    lines = nginx_lines()
    servers = {m.group(1) for line in lines if (m := re.match(r"server (\S+:\d+)", line))}
    assert servers == {f"{name}:{port}" for name in BOTS}
    path = urlsplit("https://host" + env["DALSBOT_WEBHOOK_URL"].rsplit("}", 1)[1]).path
    locations = [line for line in lines if line.startswith("location")]
    assert locations == [f"location = {path} {{", "location / {"]
    assert "return 404;" in lines
    assert any(line.startswith("proxy_next_upstream error http_502 http_503") for line in lines)


def test_nginx_conf_is_well_formed() -> None:
    """Braces balance and every directive ends with a semicolon."""
    depth = 0
    for line in nginx_lines():
        if not line:
            continue
        depth += line.count("{") - line.count("}")
        assert depth >= 0
        assert line.endswith(("{", "}", ";")), line
    assert depth == 0


def test_the_env_example_names_every_required_variable() -> None:
    """Every ${NAME:?...} the compose file requires is in deploy/env.example."""
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / "deploy" / "env.example").read_text()
    listed = set(re.findall(r"^(\w+)=", example, flags=re.MULTILINE))
    assert required == listed
