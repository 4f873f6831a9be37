"""The Firmware Management settings (public URL, diagnostics directory and limit) and the
upload door's multipart reading."""

from __future__ import annotations

import os

import pytest

from config.api.routers.firmware import _from_multipart
from config.settings import Settings, SettingsError
from store.errors import Invalid


def test_the_public_url_defaults_to_the_api_address() -> None:
    assert Settings.load(env={}).public_base == "http://127.0.0.1:8080"
    moved = Settings.load({"api_port": 9090, "host": "10.0.0.5"}, env={})
    assert moved.public_base == "http://10.0.0.5:9090"
    given = Settings.load(env={"EVGATE_PUBLIC_URL": "https://evgate.example.com/"})
    assert given.public_base == "https://evgate.example.com"


def test_a_public_url_must_be_http() -> None:
    with pytest.raises(SettingsError, match="public URL"):
        Settings.load(env={"EVGATE_PUBLIC_URL": "ftp://evgate.example.com"})


def test_the_diagnostics_directory_is_beside_the_database_unless_given() -> None:
    assert Settings.load(env={}).diagnostics_path == os.path.join("./var", "diagnostics")
    sqlite = Settings.load(env={"EVGATE_DATABASE_URL": "sqlite+aiosqlite:////data/ev/evgate.db"})
    assert sqlite.diagnostics_path == "/data/ev/diagnostics"
    pg = Settings.load(env={"EVGATE_DATABASE_URL": "postgresql+asyncpg://u@db/evgate"})
    assert pg.diagnostics_path == os.path.join("var", "diagnostics")
    given = Settings.load(env={"EVGATE_DIAGNOSTICS_DIR": "/srv/diag"})
    assert given.diagnostics_path == "/srv/diag"


def test_the_diagnostics_limit() -> None:
    assert Settings.load(env={}).diagnostics_max_bytes == 20 * 1024 * 1024
    assert Settings.load(env={"EVGATE_DIAGNOSTICS_MAX_BYTES": "4096"}).diagnostics_max_bytes == 4096
    with pytest.raises(SettingsError, match="at least 1024"):
        Settings.load(env={"EVGATE_DIAGNOSTICS_MAX_BYTES": "10"})
    with pytest.raises(SettingsError, match="whole number"):
        Settings.load(env={"EVGATE_DIAGNOSTICS_MAX_BYTES": "lots"})


def _form(*parts: bytes, boundary: bytes = b"XyZ") -> bytes:
    return b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts) + (
        b"--" + boundary + b"--\r\n"
    )


def test_the_file_field_is_taken_byte_for_byte() -> None:
    content = b"\r\n--not-the-boundary\r\n\x00\xff\r\n"
    body = _form(
        b'Content-Disposition: form-data; name="note"\r\n\r\nhello',
        b'Content-Disposition: form-data; name="file"; filename="d.log"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content,
    )
    assert _from_multipart(body, "multipart/form-data; boundary=XyZ") == ("d.log", content)


def test_a_file_under_another_field_name_is_taken_when_it_is_the_only_file() -> None:
    body = _form(b'Content-Disposition: form-data; name="upload"; filename="x.zip"\r\n\r\nZIP')
    assert _from_multipart(body, 'multipart/form-data; boundary="XyZ"') == ("x.zip", b"ZIP")


@pytest.mark.parametrize(
    ("content_type", "message"),
    [("multipart/form-data", "boundary"), ("multipart/form-data; boundary=XyZ", "'file'")],
)
def test_a_form_without_a_file_is_invalid(content_type: str, message: str) -> None:
    body = _form(b'Content-Disposition: form-data; name="note"\r\n\r\nhello')
    with pytest.raises(Invalid, match=message):
        _from_multipart(body, content_type)
