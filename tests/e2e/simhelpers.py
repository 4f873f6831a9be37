"""Black-box helpers for the simulator's end-to-end tests: evgate's command line only.

Only the documented CLI contract is used (serve, sites/chargers/tokens add, sessions list
--json), so these tests say whether the simulator and the gateway agree from the outside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.server_process import ServeProcess, run_cli


class Gateway(ServeProcess):
    """A temp SQLite database and an `evgate serve` subprocess on free ports."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(
            f"sqlite+aiosqlite:///{workdir}/evgate.db",
            workdir / "serve.log",
            "--heartbeat-interval",
            "30",
        )

    @property
    def url(self) -> str:
        return self.base_url

    def cli(self, *args: str) -> str:
        return run_cli(*args, db_url=self.db_url).stdout

    def stop(self) -> None:  # type: ignore[override]
        """SIGTERM, as an operator or a process manager would."""
        super().stop()
        self.proc = None

    def sessions(self, charger_id: str | None = None) -> list[dict[str, Any]]:
        args = ["sessions", "list", "--json"]
        if charger_id:
            args += ["--charger", charger_id]
        rows: list[dict[str, Any]] = json.loads(self.cli(*args))
        return rows
