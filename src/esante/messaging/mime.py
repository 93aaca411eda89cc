"""MIME messages of the trust space: built on send (with the X-MSS-* headers), read back
on receipt (strictly: what cannot be parsed is refused, never stored half)."""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, make_msgid

import nh3

from esante.core.errors import Invalid
from esante.messaging import xdm

# What an attachment's first bytes must look like for its declared type.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/zip": (b"PK\x03\x04",),
    "text/plain": (),
}
XDM_TYPES = {"application/zip", "application/x-zip-compressed"}
# X-MSS-NIL: a product reference of the Convergence platform (e.g. DEV935997).
NIL = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
# Shown inline in the web mailbox (their content checked against the type again).
PREVIEW_TYPES = ("application/pdf", "image/png", "image/jpeg")
HTML_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "table", "thead",
             "tbody", "tr", "th", "td", "h1", "h2", "h3", "blockquote", "pre", "code", "span"}


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Draft:
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    cdas: list[bytes] = field(default_factory=list)
    in_reply_to: str = ""
    references: str = ""
    fin: bool = False
    want_mdn: bool = False
    nil: str = ""
    ins: dict[str, str] | None = None  # the qualified INS the message may carry


@dataclass
class Parsed:
    message_id: str
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str
    attachments: list[Attachment]
    in_reply_to: str
    references: list[str]
    fin: bool
    ins: str  # O or N, as checked against the documents
    codecda: str
    nil: str
    want_mdn: bool
    report_kind: str  # "", dsn, mdn
    reported_id: str  # the original Message-ID a DSN or MDN is about
    cda: list[xdm.CdaInfo]


def check_attachment(att: Attachment, *, max_bytes: int) -> None:
    if len(att.data) > max_bytes:
        raise Invalid(f"pièce jointe {att.filename[:80]} trop grosse ({len(att.data)} octets, "
                      f"{max_bytes} au plus)", "attachment too large", code="attachment-too-large")
    ctype = att.content_type.lower()
    if ctype not in SIGNATURES and ctype not in XDM_TYPES:
        raise Invalid(f"type de pièce jointe non accepté : {ctype[:60]} (PDF, PNG, JPEG, texte, "
                      "archive IHE XDM)", "attachment type refused", code="attachment-type")
    magic = SIGNATURES.get(ctype, SIGNATURES["application/zip"])
    if magic and not any(att.data.startswith(m) for m in magic):
        raise Invalid(f"le contenu de {att.filename[:80]} ne correspond pas à son type "
                      f"({ctype})", "attachment content does not match its type",
                      code="attachment-mismatch")


def previewable(att: Attachment) -> bool:
    """A PDF or an image whose first bytes are those of its declared type."""
    ctype = att.content_type.lower()
    return ctype in PREVIEW_TYPES and any(att.data.startswith(m) for m in SIGNATURES[ctype])


def sanitise_html(html: str) -> str:
    return nh3.clean(html, tags=HTML_TAGS, url_schemes={"https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def build(draft: Draft, *, domain: str, max_attachment_bytes: int,
          accept_html: bool) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["From"] = draft.sender
    msg["To"] = ", ".join(draft.to)
    msg["Subject"] = draft.subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    if draft.in_reply_to:
        msg["In-Reply-To"] = draft.in_reply_to
        msg["References"] = f"{draft.references} {draft.in_reply_to}".strip()
    if draft.fin:
        msg["X-MSS-MES"] = "FIN"
    if draft.want_mdn:
        msg["Disposition-Notification-To"] = draft.sender
    msg.set_content(draft.text or " ")
    if draft.html:
        if not accept_html:
            raise Invalid("le corps HTML n'est pas accepté par cet opérateur", "HTML refused",
                          code="html-refused")
        msg.add_alternative(sanitise_html(draft.html), subtype="html")
    for att in draft.attachments:
        check_attachment(att, max_bytes=max_attachment_bytes)
        main, _, sub = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=main, subtype=sub, filename=att.filename)
    ins_carried = "N"
    if draft.cdas:
        infos = [xdm.read_cda(c) for c in draft.cdas]
        package = xdm.package(draft.cdas, author=draft.sender)
        check_attachment(Attachment("IHE_XDM.ZIP", "application/zip", package),
                         max_bytes=max_attachment_bytes)
        msg.add_attachment(package, maintype="application", subtype="zip",
                           filename="IHE_XDM.ZIP")
        msg["X-MSS-CODECDA"] = ",".join(sorted({i.code for i in infos if i.code}))
        if draft.ins and all(i.ins == draft.ins["matricule"] for i in infos):
            ins_carried = "O"
        elif any(i.ins for i in infos) and not draft.ins:
            raise Invalid("un document porte un INS alors que l'identité du patient n'est pas "
                          "qualifiée : seule une identité qualifiée porte l'INS",
                          "INS in a document without a qualified identity",
                          code="ins-not-qualified")
        msg["X-MSS-INS"] = ins_carried  # only with a CDA in an IHE XDM archive
    if draft.nil:
        if not NIL.match(draft.nil):
            raise Invalid("X-MSS-NIL : référence produit invalide (lettres, chiffres, . _ -, "
                          "40 au plus)", "X-MSS-NIL: invalid product reference",
                          code="mss-header")
        msg["X-MSS-NIL"] = draft.nil
    return msg


def _address(value: str | None) -> str:
    found = getaddresses([value or ""])
    return found[0][1].strip().lower() if found and found[0][1] else ""


def _bytes(payload: object) -> bytes:
    return payload if isinstance(payload, bytes) else b""


def _report(msg: Message, head: dict[str, str]) -> tuple[str, str]:
    if msg.get_content_type() != "multipart/report":
        return "", ""
    kind = {"delivery-status": "dsn", "disposition-notification": "mdn"}.get(
        str(msg.get_param("report-type", "") or ""), "")
    return kind, head.get("in-reply-to", "").strip()


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unfold(value: str) -> str:
    """A raw header value as text: folding removed, 8-bit bytes read as UTF-8."""
    value = _FOLD.sub("", value).strip()
    if any("\udc80" <= c <= "\udcff" for c in value):
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return value


def _words(value: str) -> str:
    """Decodes RFC 2047 encoded words (a subject, a file name)."""
    if "=?" not in value:
        return value
    return str(make_header(decode_header(value)))


def _text_of(part: Message) -> str:
    data = _bytes(part.get_payload(decode=True))
    try:
        return data.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _parts(msg: Message) -> tuple[str, str, list[Attachment]]:
    """Body text, HTML and attachments in one walk."""
    text, html, attachments = "", "", []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype, disposition = part.get_content_type(), part.get_content_disposition()
        filename = part.get_filename()
        if disposition == "attachment" or filename:
            attachments.append(Attachment(_words(_unfold(filename or "")) or "piece-jointe",
                                          ctype, _bytes(part.get_payload(decode=True))))
        elif ctype == "text/plain" and not text:
            text = _text_of(part)
        elif ctype == "text/html" and not html:
            html = _text_of(part)
    return text, html, attachments


def parse(raw: bytes) -> Parsed:
    """Read a message strictly. Raises ``Invalid`` for malformed MIME.

    The legacy ``compat32`` policy: its headers are plain strings, where the modern policy
    builds a header object on every access (a third of the gateway's time went there); the
    few headers read are unfolded and decoded here."""
    try:
        msg = message_from_bytes(raw, policy=email.policy.compat32)
        if msg.defects:
            raise ValueError(type(msg.defects[0]).__name__)
        head: dict[str, str] = {}
        recipients: list[str] = []
        for name, value in msg.raw_items():
            key, text_value = name.lower(), _unfold(str(value))
            head.setdefault(key, text_value)
            if key in ("to", "cc"):
                recipients.append(text_value)
        head["subject"] = _words(head.get("subject", ""))
        message_id = head.get("message-id", "").strip()
        sender = _address(head.get("from"))
        to = [a.lower() for _n, a in getaddresses(recipients) if a]
        text, html, attachments = _parts(msg)
    except (ValueError, LookupError, TypeError, AssertionError, HeaderParseError) as exc:
        raise Invalid(f"message MIME mal formé : {str(exc)[:120]}", "malformed MIME",
                      code="mime-invalid") from exc
    if not message_id or not sender:
        raise Invalid("message sans Message-ID ou sans expéditeur", "missing Message-ID or From",
                      code="mime-invalid")
    report_kind, reported = _report(msg, head)
    cdas: list[xdm.CdaInfo] = []
    for att in attachments:
        if att.content_type in XDM_TYPES or att.filename.upper().endswith(".ZIP"):
            cdas.extend(xdm.unpack(att.data))
    ins, codecda = _check_mss_headers(head, cdas)
    return Parsed(
        message_id=message_id[:250], sender=sender, to=to,
        subject=head.get("subject", "")[:500], text=text,
        html=sanitise_html(html) if html else "", attachments=attachments,
        in_reply_to=head.get("in-reply-to", "").strip()[:250],
        references=head.get("references", "").split(),
        fin=head.get("x-mss-mes", "").strip().upper() == "FIN", ins=ins, codecda=codecda,
        nil=_nil(head),
        want_mdn=bool(head.get("disposition-notification-to")), report_kind=report_kind,
        reported_id=reported[:250], cda=cdas)


def _nil(head: dict[str, str]) -> str:
    """X-MSS-NIL names the sending software: kept as it came, when it is a product
    reference; anything else is a malformed header."""
    value = head.get("x-mss-nil", "").strip()
    if value and not NIL.match(value):
        raise Invalid("X-MSS-NIL : référence produit invalide", "X-MSS-NIL: invalid product "
                      "reference", code="mss-header")
    return value


def _check_mss_headers(head: dict[str, str], cdas: list[xdm.CdaInfo]) -> tuple[str, str]:
    """Honour X-MSS-INS and X-MSS-CODECDA: they must say what the documents hold."""
    declared_ins = (head.get("x-mss-ins") or "N").strip().upper()
    if declared_ins not in {"O", "N"}:
        raise Invalid("X-MSS-INS vaut O ou N", "X-MSS-INS must be O or N", code="mss-header")
    if declared_ins == "O" and not (cdas and all(c.ins for c in cdas)):
        raise Invalid("X-MSS-INS: O mais aucun document CDA ne porte d'INS",
                      "X-MSS-INS: O without an INS in the CDA", code="mss-header")
    codes = {c.strip() for c in head.get("x-mss-codecda", "").split(",") if c.strip()}
    present = {c.code for c in cdas if c.code}
    if codes and codes != present:
        raise Invalid(f"X-MSS-CODECDA ({', '.join(sorted(codes))[:80]}) ne correspond pas aux "
                      "documents joints", "X-MSS-CODECDA does not match", code="mss-header")
    # Without "O", an INS found in a document is not trusted (the sender did not vouch it).
    return declared_ins, ",".join(sorted(present))
