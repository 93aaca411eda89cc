"""Observable values: recognise their kind and write them in one canonical form (lower case,
no trailing dot, compressed IP), so that a value shared twice is one value and a log token
finds it by plain lookup."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from esante.core.errors import Invalid

HEX = {"md5": 32, "sha1": 40, "sha256": 64}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+(?:xn--[a-z0-9-]{{1,59}}|[a-z]{{2,63}})$")
EMAIL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(.+)$")
HEX_RE = re.compile(r"^[0-9a-f]+$")
KIND_LABELS = {"ip": "Adresse IP", "domain": "Nom de domaine", "url": "URL",
               "email": "Adresse électronique", "md5": "Empreinte MD5",
               "sha1": "Empreinte SHA-1", "sha256": "Empreinte SHA-256"}


def _bad(kind: str, value: str, why: str) -> Invalid:
    shown = value if len(value) <= 80 else value[:77] + "…"
    return Invalid(f"indicateur invalide ({KIND_LABELS.get(kind, kind)}) « {shown} » : {why}",
                   f"invalid {kind} indicator: {why}", code="indicator")


def defang(value: str) -> str:
    """Undo the usual defanging of shared indicators: hxxp, [.], (.), [@]."""
    v = value.strip()
    v = re.sub(r"^hxxp", "http", v, flags=re.IGNORECASE)
    for a, b in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[@]", "@"), ("[:]", ":")):
        v = v.replace(a, b)
    return v


def domain(value: str) -> str:
    v = defang(value).lower().rstrip(".")
    try:
        v = v.encode("idna").decode("ascii") if not v.isascii() else v
    except UnicodeError:
        raise _bad("domain", value, "nom de domaine international illisible") from None
    if len(v) > 253 or not DOMAIN_RE.match(v):
        raise _bad("domain", value, "attendu un nom de domaine complet comme exemple.fr")
    return v


def ip(value: str) -> str:
    try:
        return ipaddress.ip_address(defang(value)).compressed
    except ValueError:
        raise _bad("ip", value, "attendu une adresse IPv4 ou IPv6") from None


def url(value: str) -> str:
    v = defang(value)
    parts = urlsplit(v)
    if parts.scheme.lower() not in ("http", "https", "ftp") or not parts.hostname:
        raise _bad("url", value, "attendu une URL complète commençant par http:// ou https://")
    host = parts.hostname
    try:
        host = ip(host) if re.match(r"^[0-9.:]+$", host) else domain(host)
    except Invalid:
        raise _bad("url", value, "hôte invalide") from None
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, "")).lower()


def email(value: str) -> str:
    v = defang(value).lower()
    m = EMAIL_RE.match(v)
    if not m:
        raise _bad("email", value, "attendu une adresse comme nom@exemple.fr")
    return v.split("@")[0] + "@" + domain(m.group(1))


def file_hash(kind: str, value: str) -> str:
    v = value.strip().lower()
    if len(v) != HEX[kind] or not HEX_RE.match(v):
        raise _bad(kind, value, f"attendu {HEX[kind]} caractères hexadécimaux")
    return v


def normalise(kind: str, value: str) -> str:
    if kind in HEX:
        return file_hash(kind, value)
    fn = {"ip": ip, "domain": domain, "url": url, "email": email}.get(kind)
    if fn is None:
        raise Invalid(f"type d'indicateur inconnu « {kind[:30]} » (attendu : "
                      + ", ".join(KIND_LABELS) + ")", "unknown indicator kind", code="kind")
    return fn(value)


def guess_kind(value: str) -> str:
    """The kind of a raw value: URL, e-mail, IP, hash by length, else domain."""
    v = defang(value).lower()
    if re.match(r"^[a-z][a-z0-9+.-]*://", v):
        return "url"
    if "@" in v:
        return "email"
    try:
        ipaddress.ip_address(v)
        return "ip"
    except ValueError:
        pass
    if HEX_RE.match(v):
        for kind, n in HEX.items():
            if len(v) == n:
                return kind
    return "domain"


def host_of(url_value: str) -> str:
    return urlsplit(url_value).hostname or ""
