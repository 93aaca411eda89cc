"""Warning lists: values that look like indicators but are benign (popular domains, private
and reserved address ranges, hashes of empty files). A flagged indicator is kept and shown
with its warning, but never raises an alert (log matching, phishing verdicts).

The lists ship with the platform (``data/``), small on purpose, in the spirit of MISP's
warning lists."""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
LABELS = {
    "popular-domains": "domaine très fréquenté (liste d'avertissement)",
    "reserved-ranges": "plage d'adresses privée ou réservée",
    "empty-file-hashes": "empreinte d'un fichier vide",
}


def _lines(name: str) -> list[str]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line:
            out.append(line)
    return out


@cache
def popular_domains() -> frozenset[str]:
    return frozenset(_lines("popular_domains.txt"))


@cache
def reserved_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(x) for x in _lines("reserved_ranges.txt"))


@cache
def empty_hashes() -> frozenset[str]:
    return frozenset(_lines("empty_file_hashes.txt"))


def _domain_hit(name: str) -> bool:
    labels = name.split(".")
    popular = popular_domains()
    return any(".".join(labels[i:]) in popular for i in range(len(labels) - 1))


def _ip_hit(value: str) -> bool:
    addr = ipaddress.ip_address(value)
    return any(addr in net for net in reserved_networks() if net.version == addr.version)


def warning_for(kind: str, value: str) -> str | None:
    """The warning list a (normalised) value hits, or None."""
    from esante.cyber.indicators.observables import host_of

    if kind == "domain":
        return "popular-domains" if _domain_hit(value) else None
    if kind == "email":
        return "popular-domains" if _domain_hit(value.rsplit("@", 1)[-1]) else None
    if kind == "ip":
        return "reserved-ranges" if _ip_hit(value) else None
    if kind == "url":
        host = host_of(value)
        if not host:
            return None
        try:
            return "reserved-ranges" if _ip_hit(host) else None
        except ValueError:
            return "popular-domains" if _domain_hit(host) else None
    if kind in ("md5", "sha1", "sha256"):
        return "empty-file-hashes" if value in empty_hashes() else None
    return None
