"""CSV imports of a fleet and its RFID cards: all or nothing, the first bad line named."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from config.cli import CliError


def read_rows(
    path: str, required: str, optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; a header row is used when it names `required`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    lines = list(csv.reader(io.StringIO(text)))
    columns = [required, *optional]
    start = 0
    if lines and lines[0] and lines[0][0].strip().lower() == required:
        columns = [c.strip().lower() for c in lines[0]]
        unknown = set(columns) - {required, *optional}
        if unknown:
            raise CliError(
                f"{path}:1: unknown column(s) {', '.join(sorted(unknown))}; "
                f"expected {', '.join([required, *optional])}"
            )
        start = 1
    for number, cells in enumerate(lines[start:], start=start + 1):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            raise CliError(f"{path}:{number}: {len(cells)} fields, expected at most {len(columns)}")
        yield number, {c: v.strip() for c, v in zip(columns, cells, strict=False)}


def checked(
    path: str,
    rows: Iterator[tuple[int, dict[str, str]]],
    check: Callable[[dict[str, str]], Any],
    key: str,
) -> list[tuple[int, dict[str, str]]]:
    """Validate each row; duplicates inside the file are errors too."""
    seen: dict[str, int] = {}
    out = []
    for number, row in rows:
        try:
            check(row)
        except ValueError as exc:
            raise CliError(f"{path}:{number}: {exc}") from None
        if row[key] in seen:
            raise CliError(f"{path}:{number}: {row[key]!r} repeats line {seen[row[key]]}")
        seen[row[key]] = number
        out.append((number, row))
    if not out:
        raise CliError(f"{path}: no rows to import")
    return out


def hash_all(passwords: list[str | None], hasher: Callable[[str], str]) -> list[str | None]:
    """Hash passwords on every core (hashlib's scrypt releases the GIL)."""
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda p: hasher(p) if p else None, passwords))
