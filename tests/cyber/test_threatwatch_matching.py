"""Threat watch, the pure parts: CPE 2.3 names, version order and ranges, the indexed
matcher against a one-by-one comparison, CSAF product trees, CVSS scores, inventory files."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from esante.core.errors import Invalid
from esante.cyber.threatwatch import cpe, csaf, sbom, scoring, versions
from esante.cyber.threatwatch.matching import InventoryIndex, Range

DATA = Path(__file__).parents[2] / "src/esante/cyber/threatwatch/data"


def sample(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# --- CPE 2.3 --------------------------------------------------------------------------------

def test_cpe_parses_the_thirteen_fields():
    name = cpe.parse("cpe:2.3:a:Apache:HTTP_Server:2.4.57:*:*:*:*:*:*:*")
    assert (name.part, name.vendor, name.product, name.version) == (
        "a", "apache", "http_server", "2.4.57")
    assert name.uri() == "cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*"
    assert name.has_version


def test_cpe_keeps_escaped_punctuation_and_unescapes_the_version():
    name = cpe.parse(r"cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*")
    assert name.update == "beta"
    name = cpe.parse(r"cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*")
    assert (name.update, name.sw_edition, name.target_sw) == ("-", "online", "win2003")
    escaped = cpe.parse(r"cpe:2.3:a:foo\:bar:product:1.0\:2:*:*:*:*:*:*:*")
    assert escaped.vendor == r"foo\:bar" and escaped.plain_version == "1.0:2"


def test_cpe_language_field_has_its_own_grammar():
    assert cpe.parse("cpe:2.3:a:vendor:product:1.0:*:*:fr-fr:*:*:*:*").language == "fr-fr"
    with pytest.raises(Invalid, match="language"):
        cpe.parse("cpe:2.3:a:vendor:product:1.0:*:*:francais_123:*:*:*:*")


def test_cpe_without_version_takes_the_one_given_beside_it():
    name = cpe.parse("cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*")
    assert not name.has_version
    assert name.with_version("1.1.1w").uri() == "cpe:2.3:a:openssl:openssl:1.1.1w:*:*:*:*:*:*:*"


@pytest.mark.parametrize(("text", "message"), [
    ("", "vide"),
    ("cpe:/a:apache:http_server:2.4.57", "CPE 2.2"),
    ("cpe:2.2:a:apache:http_server:2.4.57:*:*:*:*:*:*:*", "cpe:2.3:"),
    ("apache http_server 2.4.57", "cpe:2.3:"),
    ("cpe:2.3:a:apache:http_server:2.4.57", "6 champs"),
    ("cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*:*", "14 champs"),
    ("cpe:2.3:x:apache:http_server:2.4.57:*:*:*:*:*:*:*", "partie CPE « x »"),
    ("cpe:2.3:a:*:http_server:2.4.57:*:*:*:*:*:*:*", "« vendor » doit être renseigné"),
    ("cpe:2.3:a:apache:-:2.4.57:*:*:*:*:*:*:*", "« product » doit être renseigné"),
    ("cpe:2.3:a:apache:http server:2.4.57:*:*:*:*:*:*:*", "attribut CPE « product »"),
    ("cpe:2.3:a:apache:http_server:2.4.*57:*:*:*:*:*:*:*", "attribut CPE « version »"),
    ("cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:é", "attribut CPE « other »"),
    ("cpe:2.3:a:apache:http_server:" + "1" * 1000 + ":*:*:*:*:*:*:*", "trop long"),
])
def test_malformed_cpe_names_the_fault(text, message):
    with pytest.raises(Invalid) as err:
        cpe.parse(text)
    assert message in err.value.fr
    assert err.value.code == "cpe"


# --- versions and ranges ----------------------------------------------------------------------

@pytest.mark.parametrize(("lower", "higher"), [
    ("2.4.9", "2.4.10"),  # numbers, not text
    ("1.0rc1", "1.0"),  # a release candidate comes first (PEP 440)
    ("1.0.dev1", "1.0a1"),
    ("1.0", "1.0.post1"),
    ("8.9", "8.9p1"),  # OpenSSH portable: not PEP 440
    ("1.0.2", "1.0.2k"),  # OpenSSL letters
    ("1.0.2k", "1.0.2l"),
    ("7.4.1-beta", "7.4.1"),
    ("7.4.1-rc2", "7.4.1-rc10"),
    ("2023.10", "2024.1"),
])
def test_version_order(lower, higher):
    assert versions.compare(lower, higher) == -1
    assert versions.compare(higher, lower) == 1


def test_trailing_zeros_do_not_count():
    assert versions.compare("1.0", "1.0.0") == 0
    assert versions.compare("12", "12.0") == 0
    assert versions.loose("1.0rc1") == versions.loose("1.0.0rc1")


R = {"part": "a", "vendor": "apache", "product": "http_server"}


@pytest.mark.parametrize(("bounds", "inside", "outside"), [
    ({"start_including": "2.4.0", "end_including": "2.4.55"}, ["2.4.0", "2.4.30", "2.4.55"],
     ["2.3.9", "2.4.56", "2.4.100"]),
    ({"start_excluding": "2.4.0", "end_excluding": "2.4.55"}, ["2.4.1", "2.4.54"],
     ["2.4.0", "2.4.55"]),
    ({"end_excluding": "3.0"}, ["0.1", "2.99", "3.0rc1"], ["3.0", "3.0.0", "3.0.1"]),
    ({"start_including": "1.0.2", "end_excluding": "1.0.2l"}, ["1.0.2", "1.0.2k"],
     ["1.0.1u", "1.0.2l", "1.0.2m"]),
    ({"version": "2.4.55"}, ["2.4.55", "2.4.55.0"], ["2.4.54", "2.4.56"]),
    ({}, ["0", "99.9"], []),
])
def test_ranges(bounds, inside, outside):
    r = Range(**R, **bounds)
    index = InventoryIndex([("a", "apache", "http_server", v, v) for v in inside + outside])
    assert sorted(i for i, _ in index.match([r])) == sorted(inside)
    assert all(r.contains(v) for v in inside)
    assert not any(r.contains(v) for v in outside)


def test_index_mixes_pep440_and_loose_versions_of_one_product():
    index = InventoryIndex([("a", "openssl", "openssl", v, v)
                            for v in ("1.0.2j", "1.0.2k", "1.1.1", "3.0.7", "3.0.12")])
    r = Range("a", "openssl", "openssl", start_including="1.0.2", end_excluding="1.1.0")
    assert sorted(i for i, _ in index.match([r])) == ["1.0.2j", "1.0.2k"]
    # a PEP 440 product, a bound that is not: compared one by one
    pep = InventoryIndex([("a", "x", "y", v, v) for v in ("1.0", "1.1", "2.0")])
    assert [i for i, _ in pep.match([Range("a", "x", "y", end_excluding="1.1-beta")])] == ["1.0"]


def test_unknown_installed_version_is_reported_as_possibly_affected():
    index = InventoryIndex([("a", "x", "y", "*", "unknown"), ("a", "x", "y", "5.0", "five")])
    assert index.match([Range("a", "x", "y", end_excluding="2.0")]) == [("unknown", "*")]


def test_vendor_product_and_part_must_all_be_equal():
    index = InventoryIndex([("a", "apache", "http_server", "2.4.1", 1),
                            ("o", "apache", "http_server", "2.4.1", 2),
                            ("a", "apache", "tomcat", "2.4.1", 3),
                            ("a", "nginx", "http_server", "2.4.1", 4)])
    assert index.match([Range("a", "apache", "http_server")]) == [(1, "2.4.1")]


def test_index_agrees_with_one_by_one_comparison_on_random_data():
    rng = random.Random(20261129)

    def version() -> str:
        base = ".".join(str(rng.randint(0, 12)) for _ in range(rng.randint(1, 4)))
        return base + rng.choice(["", "", "", "rc1", "a2", "p1", "k", "-beta"])

    rows = [("a", "v", f"p{rng.randint(0, 9)}", version(), n) for n in range(3000)]
    index = InventoryIndex(rows)
    for _ in range(300):
        lo, hi = sorted((version(), version()), key=versions.loose)
        r = Range("a", "v", f"p{rng.randint(0, 9)}", start_including=lo, end_excluding=hi)
        expected = sorted(n for part, vendor, product, v, n in rows
                          if (part, vendor, product) == r.key and r.contains(v))
        assert sorted(n for n, _ in index.match([r])) == expected


# --- CSAF 2.0 ---------------------------------------------------------------------------------

def test_csaf_branches_with_a_version_range():
    draft = csaf.parse(sample("csaf-apache-httpd-2023.json"))
    assert draft.reference == "CERT-SANTE-DEMO-2023-0012" and draft.version == "2"
    assert draft.tlp == "CLEAR"  # CSAF 2.0 says WHITE
    assert draft.cve_ids == ["CVE-2023-25690"]
    assert draft.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert [r for r, _ in draft.affected] == [
        Range("a", "apache", "http_server", start_including="2.4.0", end_including="2.4.55")]
    assert "2.4.56" in draft.recommendations and len(draft.references) == 2
    assert "mod_proxy" in draft.summary


def test_csaf_full_product_names_exact_versions_and_several_ranges():
    draft = csaf.parse(sample("csaf-fortios-2024.json"))
    assert draft.tlp == "AMBER"
    assert draft.skipped == ["FORTIPROXY"]  # affected, but no CPE: cannot be matched
    assert [r for r, _ in draft.affected] == [
        Range("o", "fortinet", "fortios", version="7.2.6"),
        Range("o", "fortinet", "fortios", start_including="7.0.0", end_excluding="7.0.14"),
        Range("o", "fortinet", "fortios", start_including="6.4.0", end_excluding="6.4.15")]


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(sample("csaf-apache-httpd-2023.json"))
    change(doc)
    return doc


def _leaf(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["product_tree"]["branches"][0]["branches"][0]["branches"][0]  # type: ignore


@pytest.mark.parametrize(("change", "where", "why"), [
    (lambda d: d.pop("document"), "document", "objet JSON"),
    (lambda d: d["document"].update(csaf_version="1.2"), "document.csaf_version", "2.0"),
    (lambda d: d["document"].update(category="blog_post"), "document.category", "catégorie"),
    (lambda d: d["document"]["tracking"].pop("id"), "document.tracking.id", "manquant"),
    (lambda d: d["document"]["distribution"]["tlp"].update(label="PURPLE"),
     "document.distribution.tlp.label", "PURPLE"),
    (lambda d: d["vulnerabilities"][0].update(cve="CVE-23-1"), "vulnerabilities[0].cve",
     "CVE-AAAA-NNNN"),
    (lambda d: d["vulnerabilities"][0]["product_status"].update(known_affected=["NOPE"]),
     "known_affected", "« NOPE » absent de product_tree"),
    (lambda d: d["vulnerabilities"][0]["product_status"].update(known_affected=[]),
     "known_affected", "aucun produit affecté"),
    (lambda d: d["vulnerabilities"][0]["scores"][0]["cvss_v3"].update(
        vectorString="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q"), "", "vecteur CVSS invalide"),
    (lambda d: d["vulnerabilities"][0]["scores"][0]["cvss_v3"].update(baseScore=7.5),
     "baseScore", "7.5 ne correspond pas au vecteur"),
    (lambda d: _leaf(d)["product"]["product_identification_helper"].update(
        cpe="cpe:2.3:a:apache"), "product_identification_helper.cpe", "4 champs"),
    (lambda d: _leaf(d).update(name=">=2.4.0"), "product_tree.branches[0]", "vers:"),
    (lambda d: _leaf(d).update(name="vers:generic/!=2.4.3"), "product_tree", "!="),
    (lambda d: d["product_tree"].update(full_product_names=[
        {"name": "x", "product_id": "CSAFPID-0001"}]), "product_id", "défini deux fois"),
])
def test_bad_csaf_names_the_fault(change, where, why):
    with pytest.raises(Invalid) as err:
        csaf.parse(_broken(change))
    assert why in err.value.fr and where in err.value.fr
    assert err.value.fr.startswith("fichier CSAF invalide") or "CVSS" in err.value.fr


# --- CVSS -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("vector", "base", "severity"), [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8", "Critical"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "10.0", "Critical"),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", "5.9", "Medium"),
    ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "7.8", "High"),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L", "1.6", "Low"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "0.0", "None"),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "9.3", "Critical"),
])
def test_cvss_scores(vector, base, severity):
    s = scoring.score(vector)
    assert str(s.base) == base and s.severity == severity


@pytest.mark.parametrize(("vector", "message"), [
    ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "non reconnu"),  # CVSS 2: not taken
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "invalide"),  # A missing
    ("CVSS:3.1/AV:Z/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "invalide"),
    ("CVSS:4.0/AV:N", "invalide"),
])
def test_bad_cvss(vector, message):
    with pytest.raises(Invalid, match=message):
        scoring.score(vector)


# --- inventory files --------------------------------------------------------------------------

def test_cyclonedx_components_are_walked_and_versions_filled():
    read = sbom.read((DATA / "sbom-serveur-dpi.cdx.json").read_bytes(), "sbom.json")
    assert read.fmt == "cyclonedx"
    assert [e.name.uri() for e in read.entries] == [
        "cpe:2.3:a:apache:http_server:2.4.55:*:*:*:*:*:*:*",
        "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*",  # nested component
        "cpe:2.3:a:apache:log4j:2.17.1:*:*:*:*:*:*:*",  # version from the component
        "cpe:2.3:o:debian:debian_linux:12.0:*:*:*:*:*:*:*"]
    assert read.skipped == ["jquery 3.6.0"]


def test_cyclonedx_schema_violation_is_located():
    doc = json.loads((DATA / "sbom-serveur-dpi.cdx.json").read_text())
    doc["components"][1]["type"] = "logiciel"
    with pytest.raises(Invalid) as err:
        sbom.read(json.dumps(doc).encode())
    assert "components/1/type" in err.value.fr and "logiciel" in err.value.fr


def test_csv_with_semicolons_bom_and_version_column():
    text = ("\ufeffcpe;nom;version\n"
            "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*;Serveur web;2.4.57\n\n"
            "cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*;Contrôleur de domaine;\n")
    read = sbom.read(text.encode("utf-8"))
    assert [(e.name.vendor, e.name.product, e.name.version, e.label) for e in read.entries] == [
        ("apache", "http_server", "2.4.57", "Serveur web"),
        ("microsoft", "windows_server_2019", "-", "Contrôleur de domaine")]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "vide"),
    ("cpe,nom\ncpe:2.3:a:x:y:1:*:*:*:*:*:*:*,Caf\xe9\n".encode("latin-1"), "UTF-8"),
    (b"produit,version\nhttpd,2.4\n", "cpe"),
    (b"cpe,marque\ncpe:2.3:a:x:y:1:*:*:*:*:*:*:*,z\n", "marque"),
    (b"cpe,nom\ncpe:2.3:a:x:y:1:*:*:*:*:*:*:*,a\ncpe:2.3:a:x:y,b\n", "ligne 3"),
    (b"cpe,nom\ncpe:2.3:a:x:y:1:*:*:*:*:*:*:*\n", "ligne 2 : 1 colonnes"),
    (b'{"bomFormat": "SPDX"}', "CycloneDX"),
    (b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}', "9.9"),
    (b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [', "JSON illisible"),
])
def test_bad_inventory_files(data, message):
    with pytest.raises(Invalid, match=message):
        sbom.read(data)
