"""--csms-ca-cert / --csms-ca-key / --csms-cert-days: both files or neither, a key that belongs
to the certificate, a sensible lifetime; each mistake one readable line, not a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import compose
from config.settings import Settings, SettingsError
from tests.support.certs import authority


def test_both_files_make_a_signer_and_none_makes_none(tmp_path: Path) -> None:
    ca = authority(tmp_path)
    env = {"EVGATE_CSMS_CA_CERT": ca.cert_file, "EVGATE_CSMS_CA_KEY": ca.key_file}
    settings = Settings.load({"csms_cert_days": "90"}, env=env)
    signer = compose.csr_signer(settings)
    assert signer is not None and signer.days == 90 and signer.ca_cert == ca.cert
    assert compose.csr_signer(Settings.load(env={})) is None
    assert "csms_ca_key" not in repr(settings)  # where the key lies is not logged


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ({"csms_ca_cert": "CERT"}, "needs both a CA certificate and key"),
        ({"csms_ca_cert": "CERT", "csms_ca_key": "MISSING"}, "CA file 'MISSING' does not exist"),
        ({"csms_ca_cert": "CERT", "csms_ca_key": "KEY", "csms_cert_days": "0"}, "1 to 3650 days"),
        ({"csms_cert_days": "a year"}, "must be a whole number"),
    ],
)
def test_what_is_refused(tmp_path: Path, which: dict[str, str], message: str) -> None:
    ca = authority(tmp_path)
    files = {"CERT": ca.cert_file, "KEY": ca.key_file}
    overrides = {k: files.get(v, v) for k, v in which.items()}
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.load(overrides, env={})


def test_a_key_of_another_ca_is_one_line_at_start(tmp_path: Path) -> None:
    ca, other = authority(tmp_path, "ca"), authority(tmp_path, "other")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "config.cli",
            "serve",
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path}/evgate.db",
            "--ocpp-port",
            "0",
            "--api-port",
            "0",
            "--csms-ca-cert",
            ca.cert_file,
            "--csms-ca-key",
            other.key_file,
        ],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith("evgate: the CA key does not belong to the CA certificate\n")
