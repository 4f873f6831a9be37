"""The files a newcomer relies on: compose file, Dockerfile, CI script, README commands."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_is_accepted() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"evgate-a", "evgate-b", "postgres", "mosquitto"} <= set(spec["services"])
    for name in ("evgate-a", "evgate-b"):
        env = spec["services"][name]["environment"]
        assert env["EVGATE_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["EVGATE_MQTT_URL"] == "mqtt://mosquitto:1883"
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        if subprocess.run([*command, "version"], capture_output=True).returncode != 0:
            continue  # the docker client without its compose plugin
        result = subprocess.run(
            [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return


def test_dockerfile_installs_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for package in ("gateway", "metering", "tariffs", "store", "billing", "config", "simulators"):
        assert f"COPY {package} ./{package}" in text
    assert "requirements.lock" in text


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "EVGATE_REQUIRE_SERVICES=1" in ci and "make test" in ci
    assert "make test" in readme and "make demo" in readme
