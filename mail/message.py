"""A stored mail as the RFC 5322 message handed to the SMTP server (pure: no I/O).

The Message-ID is a function of the mail's dedup key and the mail domain only, so a mail sent
twice (the one window: the server said 250, the process died before the commit that marks it
sent) carries the same Message-ID both times and the receiving side can tell it is one mail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any


def message_id(dedup_key: str, domain: str) -> str:
    """``<32 hex digits of SHA-256(dedup_key)@domain>``: the same key, the same id."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def attachment_name(ref: Mapping[str, Any]) -> str:
    """The file name of an attachment reference: OSL-000012.pdf, OSL-000012-reminder-1.pdf."""
    number = str(ref["invoice_number"])
    reminder = ref.get("reminder")
    return f"{number}-reminder-{reminder}.pdf" if reminder else f"{number}.pdf"


def build(
    mail: Mapping[str, Any],
    sender: str,
    at: datetime,
    files: Sequence[tuple[str, bytes]] = (),
) -> EmailMessage:
    """The message of a stored ``mail`` row (its ``message_id`` set), with PDF ``files``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail["recipient"]
    msg["Subject"] = mail["subject"]
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = mail["message_id"]
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    msg.set_content(mail["text_body"])
    if mail.get("html_body"):
        msg.add_alternative(mail["html_body"], subtype="html")
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    # last: set_content and add_attachment move Content-* headers into the parts they make
    msg["Content-Language"] = mail["language"]
    return msg
