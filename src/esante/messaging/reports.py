"""Delivery status notifications (RFC 3464) and message disposition notifications
(RFC 8098), built as ``multipart/report`` messages."""

from __future__ import annotations

import email.policy
from email import message_from_string
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid


def _report(*, sender: str, to: str, original_id: str, subject: str, text: str,
            report_type: str, fields: str, domain: str) -> bytes:
    msg = MIMEMultipart("report", report_type=report_type, policy=email.policy.SMTP)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate()
    msg["In-Reply-To"] = original_id
    msg["References"] = original_id
    msg["Auto-Submitted"] = "auto-replied"
    msg.attach(MIMEText(text, "plain", "utf-8", policy=email.policy.SMTP))
    part = MIMEBase("message", report_type, policy=email.policy.SMTP)
    # The generator writes message/* parts from Message objects: one per field block.
    part.set_payload([message_from_string(block + "\r\n", policy=email.policy.SMTP)
                      for block in fields.split("\r\n\r\n")])
    msg.attach(part)
    return msg.as_bytes(policy=email.policy.SMTP)


def mdn(*, reader: str, to: str, original_id: str, domain: str) -> bytes:
    fields = (f"Reporting-UA: esante; {domain}\r\nFinal-Recipient: rfc822;{reader}\r\n"
              f"Original-Message-ID: {original_id}\r\n"
              "Disposition: manual-action/MDN-sent-automatically; displayed\r\n")
    return _report(sender=reader, to=to, original_id=original_id,
                   subject="Accusé de lecture", text=f"Votre message a été lu par {reader}.",
                   report_type="disposition-notification", fields=fields, domain=domain)


def dsn(*, postmaster: str, to: str, recipient: str, original_id: str, status: str,
        diagnostic: str, domain: str) -> bytes:
    fields = (f"Reporting-MTA: dns;{domain}\r\n\r\nFinal-Recipient: rfc822;{recipient}\r\n"
              f"Action: failed\r\nStatus: {status}\r\n"
              f"Diagnostic-Code: smtp;{diagnostic[:200]}\r\n")
    return _report(sender=postmaster, to=to, original_id=original_id,
                   subject="Message non distribué",
                   text=f"Votre message n'a pas pu être remis à {recipient} : {diagnostic[:200]}",
                   report_type="delivery-status", fields=fields, domain=domain)
