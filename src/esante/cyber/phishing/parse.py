"""Reading a reported message (``.eml``): headers with the standard ``email`` package
(``policy.default``), observables with ``ioc-finder``, attachments hashed, and the signs of
phishing that the headers alone give (failed authentication, mismatched addresses)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

from esante.core.errors import Invalid
from esante.cyber.indicators import observables

MAX_EML_BYTES = 5 * 1_048_576
RISKY_EXTENSIONS = (".exe", ".scr", ".js", ".jse", ".vbs", ".vbe", ".wsf", ".hta", ".bat",
                    ".cmd", ".ps1", ".lnk", ".iso", ".img", ".docm", ".xlsm", ".pptm", ".html",
                    ".htm", ".one", ".msi", ".jar")
_AUTH = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
_RECEIVED_IP = re.compile(r"\[((?:\d{1,3}\.){3}\d{1,3}|[0-9a-f:]+:[0-9a-f:]*)\]", re.IGNORECASE)
_HEADERS_OF_A_MESSAGE = ("from", "date", "received", "message-id", "subject", "to")


@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    sha1: str
    md5: str


@dataclass
class Analysis:
    subject: str = ""
    sender: str = ""
    sender_name: str = ""
    reply_to: str = ""
    return_path: str = ""
    recipients: list[str] = field(default_factory=list)
    date: str = ""
    message_id: str = ""
    auth: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, str]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)  # header-level signs, in French

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Analysis:
        d = dict(d)
        d["attachments"] = [Attachment(**a) for a in d.get("attachments", [])]
        return cls(**d)

    def observables(self) -> list[tuple[str, str]]:
        """(kind, value) pairs worth matching or sharing: URLs, domains, IPs, addresses,
        attachment hashes."""
        out = [("url", u) for u in self.urls] + [("domain", d) for d in self.domains]
        out += [("ip", i) for i in self.ips] + [("email", e) for e in self.emails]
        for a in self.attachments:
            out += [("sha256", a.sha256), ("sha1", a.sha1), ("md5", a.md5)]
        return out


def _organisational(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    keep = 3 if len(labels) > 2 and labels[-2] in ("gouv", "co", "com", "org", "ac") else 2
    return ".".join(labels[-keep:])


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower() if "@" in address else ""


def read_message(raw: bytes) -> EmailMessage:
    if not raw.strip():
        raise Invalid("le fichier est vide : déposez le message suspect au format .eml",
                      "empty file", code="eml-empty")
    if len(raw) > MAX_EML_BYTES:
        raise Invalid(f"message trop volumineux ({len(raw) / 1_048_576:.1f} Mio ; limite "
                      f"{MAX_EML_BYTES // 1_048_576} Mio) : transférez-le sans ses pièces "
                      "jointes les plus lourdes", "message too large", code="eml-too-large")
    head = raw.lstrip()[:2000]
    if b"\x00" in head or not re.match(rb"^[A-Za-z0-9-]{1,76}:", head):
        raise Invalid("ce fichier n'est pas un message électronique (.eml) : il ne commence "
                      "pas par des en-têtes (From:, Received:…). Enregistrez le message depuis "
                      "votre messagerie (« Enregistrer sous » ou « Transférer en pièce "
                      "jointe »)", "not an e-mail message", code="eml-not-a-message")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    present = {k.lower() for k in msg}
    if "from" not in present or not present & {"date", "received", "message-id"}:
        raise Invalid("ce fichier n'est pas un message électronique (.eml) : en-têtes From et "
                      "Date (ou Received) introuvables", "not an e-mail message",
                      code="eml-not-a-message")
    assert isinstance(msg, EmailMessage)
    return msg


def _text_parts(msg: EmailMessage) -> list[str]:
    out = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_maintype() == "text":
            try:
                out.append(str(part.get_content()))
            except (LookupError, UnicodeError, AssertionError):
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    out.append(payload.decode("utf-8", "replace"))
    return out


def _attachments(msg: EmailMessage) -> list[Attachment]:
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        out.append(Attachment(filename=str(filename or "")[:200],
                              content_type=part.get_content_type(), size=len(data),
                              sha256=hashlib.sha256(data).hexdigest(),
                              sha1=hashlib.sha1(data).hexdigest(),  # noqa: S324 - an IOC, not security
                              md5=hashlib.md5(data).hexdigest()))  # noqa: S324
    return out


def _received(msg: EmailMessage) -> list[dict[str, str]]:
    hops = []
    for value in msg.get_all("received", []):
        text = " ".join(str(value).split())
        m_from = re.search(r"\bfrom\s+(\S+)", text, re.IGNORECASE)
        m_by = re.search(r"\bby\s+(\S+)", text, re.IGNORECASE)
        # The connecting address is the last bracketed one before "by" (the first may be
        # what the client claimed in HELO).
        ips = _RECEIVED_IP.findall(re.split(r"\sby\s", text, maxsplit=1)[0])
        date = text.rsplit(";", 1)[1].strip() if ";" in text else ""
        hops.append({"from": m_from.group(1) if m_from else "", "by": m_by.group(1) if m_by
                     else "", "ip": ips[-1] if ips else "", "date": date[:60]})
    return hops


def _clean(kind: str, values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        try:
            n = observables.normalise(kind, v)
        except Invalid:
            continue
        if n not in out:
            out.append(n)
    return out


def _signs(a: Analysis) -> None:
    from_dom = _domain_of(a.sender)
    for name in ("spf", "dkim", "dmarc"):
        result = a.auth.get(name, "")
        if result in ("fail", "softfail", "permerror"):
            a.signs.append(f"authentification {name.upper()} en échec ({result})")
    if a.reply_to and from_dom and _organisational(_domain_of(a.reply_to)) != \
            _organisational(from_dom):
        a.signs.append(f"l'adresse de réponse ({_domain_of(a.reply_to)}) n'est pas du domaine "
                       f"de l'expéditeur ({from_dom})")
    if a.return_path and from_dom and _organisational(_domain_of(a.return_path)) != \
            _organisational(from_dom):
        a.signs.append(f"l'adresse de retour ({_domain_of(a.return_path)}) n'est pas du "
                       f"domaine de l'expéditeur ({from_dom})")
    shown = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", a.sender_name)
    if shown and shown.group(0).lower() != a.sender.lower():
        a.signs.append(f"le nom affiché imite une autre adresse ({shown.group(0)})")
    for url in a.urls:
        host = observables.host_of(url)
        if re.match(r"^[0-9.]+$", host) or ":" in host:
            a.signs.append(f"lien vers une adresse IP brute ({host})")
            break
    for att in a.attachments:
        if att.filename.lower().endswith(RISKY_EXTENSIONS):
            a.signs.append(f"pièce jointe à risque ({att.filename})")


def analyse(raw: bytes) -> Analysis:
    """Headers, observables and signs of a message; raises ``Invalid`` for a file that is
    not a message or is too large."""
    from ioc_finder import find_iocs

    msg = read_message(raw)
    a = Analysis()
    a.subject = str(msg.get("subject", ""))[:500]
    a.sender_name, a.sender = parseaddr(str(msg.get("from", "")))
    a.sender = a.sender.lower()
    a.reply_to = parseaddr(str(msg.get("reply-to", "")))[1].lower()
    a.return_path = parseaddr(str(msg.get("return-path", "")))[1].lower()
    a.recipients = [addr.lower() for _, addr in getaddresses(
        [str(v) for v in msg.get_all("to", []) + msg.get_all("cc", [])]) if addr][:50]
    a.date = str(msg.get("date", ""))[:100]
    a.message_id = str(msg.get("message-id", ""))[:300]
    results = msg.get_all("authentication-results", [])
    for name, result in _AUTH.findall(str(results[0]) if results else ""):
        a.auth.setdefault(name.lower(), result.lower())
    spf = msg.get("received-spf")
    if "spf" not in a.auth and spf:
        a.auth["spf"] = str(spf).split()[0].lower()
    a.received = _received(msg)
    a.attachments = _attachments(msg)
    text = "\n".join(_text_parts(msg))
    found = find_iocs(text, included_ioc_types=["urls", "domains", "ipv4s", "ipv6s",
                                                "email_addresses"])
    a.urls = _clean("url", found.get("urls", []))[:500]
    sender_side = [x for x in (a.sender, a.reply_to, a.return_path) if x]
    a.emails = _clean("email", [*sender_side, *found.get("email_addresses", [])])[:200]
    mine = {_domain_of(r) for r in a.recipients}
    domains = [*(_domain_of(e) for e in a.emails), *found.get("domains", []),
               *(observables.host_of(u) for u in a.urls)]
    a.domains = [d for d in _clean("domain", [d for d in domains if d]) if d not in mine][:500]
    a.emails = [e for e in a.emails if e not in a.recipients]
    hop_ips = [h["ip"] for h in a.received if h["ip"]]
    a.ips = _clean("ip", [*hop_ips, *found.get("ipv4s", []), *found.get("ipv6s", [])])[:200]
    _signs(a)
    return a
