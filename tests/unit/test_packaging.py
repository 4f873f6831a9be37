"""The files a newcomer relies on: compose file, Dockerfile, CI script, README commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from config.cli import GROUPS

ROOT = Path(__file__).resolve().parents[2]
# building and installing the wheel into a fresh venv takes most of a minute on a quiet machine
pytestmark = pytest.mark.timeout(600)


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
    for package in wheel_packages():
        assert f"COPY {package} ./{package}" in text
    assert "requirements.lock" in text


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "EVGATE_REQUIRE_SERVICES=1" in ci and "make test" in ci
    assert "make test" in readme and "make demo" in readme


# --- the wheel, installed without extras ---------------------------------------------------------

NETWORK_TROUBLE = (
    "Could not find a version",
    "No matching distribution",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "connection broken",
    "ProxyError",
)


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def wheel_packages() -> list[str]:
    return list(project()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


def runtime_closure() -> set[str]:
    """The distributions the runtime dependencies pull in, as this venv resolved them."""
    todo = [Requirement(r) for r in project()["project"]["dependencies"]]
    seen: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        for text in metadata.distribution(req.name).requires or []:
            dep = Requirement(text)
            if dep.marker is None or any(
                dep.marker.evaluate({"extra": e}) for e in (seen[name] or {""})
            ):
                todo.append(dep)
    return set(seen)


def runtime_lock(closure: set[str]) -> list[str]:
    """requirements.lock less what only the dev extra needs."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            pins[canonicalize_name(line.split("==")[0])] = line
    missing = sorted(closure - set(pins))
    assert not missing, f"requirements.lock lacks runtime dependencies {missing}: make lock"
    return [pins[name] for name in sorted(closure)]


def run(*args: str | Path, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and the locked runtime dependencies only: no dev extra."""
    tmp = tmp_path_factory.mktemp("bare")
    venv = tmp / "venv"
    requirements = tmp / "runtime.txt"
    requirements.write_text("\n".join(runtime_lock(runtime_closure())) + "\n")
    made = run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    built = run(*pip, "wheel", "--no-deps", "-w", tmp / "dist", ROOT, timeout=300)
    installed = built.returncode == 0 and run(
        *pip, "install", "--no-deps", "--no-compile", "-r", requirements,
        *(tmp / "dist").glob("*.whl"), timeout=300,
    )  # fmt: skip
    for step in (built, installed):
        if step and step.returncode == 0:
            continue
        out = step.stderr + step.stdout if step else ""
        if (
            any(t in out for t in NETWORK_TROUBLE)
            and os.environ.get("EVGATE_REQUIRE_SERVICES") != "1"
        ):
            pytest.skip(f"pip cannot reach a package index: {out.strip().splitlines()[-1]}")
        raise AssertionError(out)
    check = run(*pip, "check")
    assert check.returncode == 0, f"the runtime lock is not closed:\n{check.stdout}"
    return venv


def test_bare_install_has_no_dev_packages(bare_venv: Path) -> None:
    listed = run(bare_venv / "bin" / "python", "-m", "pip", "list", "--format=freeze").stdout
    names = {canonicalize_name(line.split("==")[0]) for line in listed.splitlines()}
    for dev in ("pytest", "hypothesis", "localstripe", "fastjsonschema", "mypy", "ruff"):
        assert dev not in names
    imported = run(bare_venv / "bin" / "python", "-c", f"import {', '.join(wheel_packages())}")
    assert imported.returncode == 0, imported.stderr


def test_every_command_answers_without_extras(bare_venv: Path, tmp_path: Path) -> None:
    evgate = bare_venv / "bin" / "evgate"
    top = run(evgate, "--help", cwd=tmp_path)
    assert top.returncode == 0 and "COMMAND" in top.stdout, top.stderr
    wrong = run(evgate, "nosuchgroup", cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert len(wrong.stderr.splitlines()) == 1 and "invalid choice" in wrong.stderr, wrong.stderr
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = pool.map(lambda g: (g, run(evgate, g, "--help", cwd=tmp_path)), GROUPS)
        for group, helped in answers:
            assert helped.returncode == 0, f"evgate {group} --help:\n{helped.stderr}"
            assert "Traceback" not in helped.stderr and helped.stdout.startswith("usage: evgate")
    url = f"sqlite+aiosqlite:///{tmp_path}/bare.db"  # migrations ship in the wheel
    listed = run(evgate, "sites", "list", "--database-url", url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr


STRIPE_ASYNC = """
import asyncio, stripe
from billing.stripe_payments import StripePayments, StripeSettings
payments = StripePayments(StripeSettings("sk_test_bare", "", "http://127.0.0.1:9"))
async def main():
    try:
        await payments.client.v1.customers.list_async()
    except stripe.APIConnectionError:
        print("reached for the network")
asyncio.run(main())
"""


def test_card_payments_have_their_async_http_client(bare_venv: Path) -> None:
    """stripe's *_async calls need httpx: without it they raise ImportError on first use."""
    done = run(bare_venv / "bin" / "python", "-c", STRIPE_ASYNC, timeout=60)
    assert done.stdout.strip() == "reached for the network", done.stderr
