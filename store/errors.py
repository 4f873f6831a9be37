"""The one error vocabulary: what kind of problem the caller can fix, whoever raised it.

store/ is the lowest room that raises them, so it owns the base classes; gateway/, billing/,
services/ and config/ subclass or raise these kinds. The entry points map a kind, never a
class: config/api/errors.py to an HTTP status, config/commands/common.py to a one-line CLI
error. (tariffs/ is pure and raises its own TariffError, a ValueError, mapped by type.)
"""

from __future__ import annotations


class EvgateError(Exception):
    """A problem the caller can fix; ``str(exc)`` is one sentence saying what and how."""


class Invalid(EvgateError, ValueError):
    """Input that cannot be accepted as it is (HTTP 422)."""


class NotFound(EvgateError, LookupError):
    """The thing named does not exist (HTTP 404)."""


class Conflict(EvgateError, ValueError):
    """The state of what is stored forbids the change (HTTP 409)."""


class Gone(Conflict):
    """Existed, but can no longer be used, e.g. an expired invitation (HTTP 410)."""


class Forbidden(EvgateError):
    """The caller may not do this (HTTP 403)."""
