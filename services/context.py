"""Who does a use case: an API token (id, name, role, site) or the command line.

Every write takes an ``Actor``; the audit log records its ``label``. The role rules live
here, not in an entry point, so the CLI, the config API and the portal decide alike:
``super-admin`` (everything), ``admin`` (one site: read and change it), ``viewer`` (read
only; one site, or every site when the token has none). The CLI acts as a super-admin:
whoever can run it can open the database anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    label: str  # how the audit log names it: "cli", "invitee", "token:<id> (<name>)"
    role: str = "super-admin"
    site_id: str | None = None
    token_id: int | None = None
    name: str = ""

    @classmethod
    def token(cls, token_id: int, name: str, role: str, site_id: str | None) -> Actor:
        label = f"token:{token_id}" + (f" ({name})" if name else "")
        return cls(label, role, site_id, token_id, name)

    @classmethod
    def portal_user(cls, user_id: int, email: str, role: str, site_id: str | None) -> Actor:
        """A person signed in to the web portal (portal_users): the same role rules."""
        return cls(f"portal:{user_id} ({email})", role, site_id, None, email)

    @property
    def actor(self) -> str:
        """The audit log's name for the caller (the API's older spelling of ``label``)."""
        return self.label

    @property
    def is_super(self) -> bool:
        return self.role == "super-admin"

    def can_read(self, site_id: str | None) -> bool:
        return (
            self.is_super
            or self.site_id is None
            and self.role == "viewer"
            or (site_id is not None and site_id == self.site_id)
        )

    def can_write(self, site_id: str | None) -> bool:
        return self.is_super or (
            self.role == "admin" and site_id is not None and site_id == self.site_id
        )

    def check_read(self, site_id: str | None) -> None:
        if not self.can_read(site_id):
            raise Forbidden(f"this token may only see site {self.site_id!r}")

    def check_write(self, site_id: str | None) -> None:
        if self.role == "viewer":
            raise Forbidden("a viewer token is read only")
        if not self.can_write(site_id):
            raise Forbidden(f"this token may only change site {self.site_id!r}")

    def check_super(self, message: str = "only a super-admin token may do this") -> None:
        if not self.is_super:
            raise Forbidden(message)

    def visible_site(self, requested: str | None) -> str | None:
        """The site a listing is limited to: the token's own, or the one asked for."""
        if requested is not None:
            self.check_read(requested)
            return requested
        return None if self.is_super or self.site_id is None else self.site_id


CLI = Actor("cli")  # `evgate ...` on the command line
INVITEE = Actor("invitee", role="invitee")  # whoever holds an invitation link
