"""Observable values: kinds recognised, canonical forms, precise errors, warning lists."""

from __future__ import annotations

import pytest

from esante.core.errors import Invalid
from esante.cyber.indicators import observables, warninglists
from esante.cyber.indicators.service import parse_tlp


@pytest.mark.parametrize(("raw", "kind", "value"), [
    ("hxxps://Login.Example-Bad[.]com/Path?Q=1", "url", "https://login.example-bad.com/path?q=1"),
    ("http://203.0.113.9:8080", "url", "http://203.0.113.9:8080/"),
    ("Evil-Example.FR.", "domain", "evil-example.fr"),
    ("hôpital-faux.fr", "domain", "xn--hpital-faux-2eb.fr"),
    ("2001:DB8:0:0:0:0:0:1", "ip", "2001:db8::1"),
    ("Compta[@]Evil.fr", "email", "compta@evil.fr"),
    ("D41D8CD98F00B204E9800998ECF8427E", "md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("a" * 40, "sha1", "a" * 40),
    ("b" * 64, "sha256", "b" * 64),
])
def test_kinds_and_canonical_forms(raw: str, kind: str, value: str) -> None:
    assert observables.guess_kind(raw) == kind
    assert observables.normalise(kind, raw) == value


@pytest.mark.parametrize(("kind", "raw", "message"), [
    ("domain", "localhost", "nom de domaine complet"),
    ("domain", "-bad-.fr", "nom de domaine complet"),
    ("ip", "300.1.2.3", "IPv4 ou IPv6"),
    ("url", "javascript:alert(1)", "http://"),
    ("email", "pas-une-adresse", "nom@exemple.fr"),
    ("sha256", "xyz", "64 caractères"),
    ("cve", "CVE-2024-1", "type d'indicateur inconnu"),
])
def test_precise_errors(kind: str, raw: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        observables.normalise(kind, raw)


def test_warning_lists() -> None:
    assert warninglists.warning_for("domain", "mail.google.com") == "popular-domains"
    assert warninglists.warning_for("domain", "google.com.evil.ru") is None
    assert warninglists.warning_for("email", "x@ameli.fr") == "popular-domains"
    assert warninglists.warning_for("url", "https://www.ameli.fr/assure") == "popular-domains"
    assert warninglists.warning_for("url", "http://192.168.1.1/admin") == "reserved-ranges"
    assert warninglists.warning_for("ip", "172.20.0.1") == "reserved-ranges"
    assert warninglists.warning_for("ip", "fe80::1") == "reserved-ranges"
    assert warninglists.warning_for("ip", "185.234.72.19") is None
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert warninglists.warning_for("sha256", empty) == "empty-file-hashes"


@pytest.mark.parametrize(("raw", "tlp"), [("TLP:AMBER+STRICT", "amber+strict"), ("white", "clear"),
                                          ("Red", "red"), (" tlp:green ", "green")])
def test_tlp_spellings(raw: str, tlp: str) -> None:
    assert parse_tlp(raw) == tlp


def test_unknown_tlp() -> None:
    with pytest.raises(Invalid, match="TLP inconnu « TLP:ORANGE »"):
        parse_tlp("TLP:ORANGE")
