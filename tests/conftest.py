"""Fixtures: a migrated database per test (SQLite file, or a fresh PostgreSQL database).

Migrating takes about half a second; doing it for each of several hundred tests was a third
of the suite's time. So each test session migrates one template per engine and every test gets
a copy: a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL. The copy is
the same schema a fresh ``migrate.upgrade`` gives (``test_migrations`` checks that on a copy,
and ``evgate migrate`` on one is a no-op).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from store import migrate
from store.db import create_engine
from tests.support.services import fresh_pg_database, pg_template_database, run_apart


async def _migrate(url: str) -> None:
    eng = create_engine(url)
    try:
        await migrate.upgrade(eng)
    finally:
        await eng.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session, copied by each test that needs one."""
    path = tmp_path_factory.mktemp("template") / "evgate.db"
    run_apart(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """One migrated PostgreSQL database per test session (made on first use), dropped at end."""
    with pg_template_database(_migrate) as name:
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Run the test once on a migrated SQLite file and once on a migrated PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "evgate.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        async with fresh_pg_database(template=request.getfixturevalue("pg_template")) as url:
            yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/evgate.db"


@pytest.fixture
async def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()


# Under `make test` the suite runs in several worker processes (pytest-xdist, --dist
# loadgroup). These modules stay whole on one worker: each builds something costly once per
# module, or shares a resource that two workers must not use at the same time.
XDIST_GROUPS = {
    "tests/unit/test_packaging.py": "packaging",  # builds a bare venv once (~45 s)
    "tests/e2e/test_simulator_e2e.py": "simulator-e2e",  # one `evgate serve` for the module
    # the demo starts its own localstripe (see LOCALSTRIPE below)
    "tests/e2e/test_demo.py": "localstripe",
    "tests/e2e/test_demo_portal.py": "localstripe",
    # two instances on the shared broker with the default topic prefix and the same charger ids
    "tests/e2e/test_two_instances.py": "shared-broker-prefix",
    "tests/e2e/test_site_power_two_instances.py": "shared-broker-prefix",
}


# localstripe keeps its objects in one fixed file, /tmp/localstripe.pickle: every test that
# asks for the `localstripe` fixture runs on the same worker
LOCALSTRIPE = "localstripe"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        group = XDIST_GROUPS.get(Path(str(item.path)).relative_to(root).as_posix())
        if group is None and "localstripe" in getattr(item, "fixturenames", ()):
            group = LOCALSTRIPE
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
