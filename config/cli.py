"""The `evgate` command: a thin shell that parses arguments and hands over to services.

Each command group lives in its own module exposing ``register(subparsers)``; the module is
imported only when its group is used, so `evgate simulate` never loads the server side.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

# group name -> module that defines it (``register(subparsers)`` adds the group's parser)
GROUPS: dict[str, str] = {
    "serve": "config.commands.serve",
    "sites": "config.commands.sites",
    "chargers": "config.commands.chargers",
    "tokens": "config.commands.tokens",
    "sessions": "config.commands.sessions",
    "tariffs": "config.commands.tariffs",
    "simulate": "simulators.cli",
    "demo": "config.commands.demo",
    "bill": "config.commands.billing",
    "invoices": "config.commands.billing",
    "payments": "config.commands.billing",
    "plans": "config.commands.plans",
    "reports": "config.commands.reports",
    "admin": "config.commands.admin",
    "mail": "config.commands.mail",
    "portal": "config.commands.portal",
    "subscribers": "config.commands.subscribers",
}


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """Usage errors as one line (what was wrong, where to look), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser(groups: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = Parser(prog="evgate", description="EV charger billing gateway")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    sub.required = True
    registered: set[str] = set()
    for name in groups if groups is not None else GROUPS:
        if GROUPS[name] in registered:  # one module may define several groups
            continue
        registered.add(GROUPS[name])
        try:
            module = importlib.import_module(GROUPS[name])
        except ModuleNotFoundError as exc:  # a group not built yet stays out of the help
            if exc.name and GROUPS[name].startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def _is_user_error(exc: Exception, args: argparse.Namespace) -> bool:
    """Input the user can fix (validation, conflicts, unknown ids): one line, no traceback.

    A command names its user errors as the ``user_errors`` default of its parser
    (config/commands/common.py's add_database_flag does, for the store's): the shell knows
    no command module, so the commands may import it without a circle.
    """
    return isinstance(exc, tuple(getattr(args, "user_errors", ())))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Load only the group asked for (fast start, and no server imports for `simulate`).
    wanted = [argv[0]] if argv and argv[0] in GROUPS else None
    parser = build_parser(wanted)
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except CliError as exc:
        print(f"evgate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not _is_user_error(exc, args):
            raise
        print(f"evgate: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    # `python -m config.cli`: run the imported module's main, so that the CliError the
    # commands raise (config.cli.CliError) is the one caught, not a __main__ copy of it
    from config.cli import main as _main

    sys.exit(_main())
