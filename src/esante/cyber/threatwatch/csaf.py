"""CSAF 2.0 security advisories (OASIS): the parts the threat watch reads, checked strictly.

Read: the document (category, csaf_version, title, publisher, tracking id and version,
TLP, summary notes, references), the product tree (``branches`` walked down to their
leaves, ``full_product_names``; a product is matchable when its
``product_identification_helper.cpe`` is a CPE 2.3 name; a ``product_version`` branch gives
an exact version, a ``product_version_range`` branch a ``vers:`` range), and the
vulnerabilities (CVE, ``product_status.known_affected``, ``scores[].cvss_v3`` whose
vector is re-scored, ``remediations``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from esante.core.errors import Invalid
from esante.cyber.threatwatch import cpe as cpes
from esante.cyber.threatwatch import scoring
from esante.cyber.threatwatch.matching import Range

CVE = re.compile(r"CVE-\d{4}-\d{4,}")
# CSAF 2.0 carries TLP 1.0 labels; WHITE is TLP 2.0's CLEAR.
TLP_OF_CSAF = {"WHITE": "CLEAR", "GREEN": "GREEN", "AMBER": "AMBER", "RED": "RED"}
CATEGORIES = ("csaf_security_advisory", "csaf_base", "csaf_vex", "csaf_informational_advisory")
MAX_PRODUCTS = 5000


@dataclass
class Draft:
    """An advisory read from a CSAF file, before it is saved."""

    reference: str
    version: str
    title: str
    summary: str
    cve_ids: list[str]
    cvss_vector: str | None
    tlp: str | None
    recommendations: str
    references: list[str]
    affected: list[tuple[Range, str]]  # the range and the CPE name it comes from
    skipped: list[str] = field(default_factory=list)  # affected products without a CPE


def _fail(where: str, why: str) -> Invalid:
    return Invalid(f"fichier CSAF invalide : {where} — {why}", f"invalid CSAF: {where}: {why}",
                   code="csaf", where=where)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "un objet JSON est attendu")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, "une liste JSON est attendue")
    return value


def _text(parent: dict[str, Any], key: str, where: str, *, required: bool = True,
          limit: int = 10_000) -> str:
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.{key}", "texte obligatoire manquant")
    if len(value) > limit:
        raise _fail(f"{where}.{key}", f"texte trop long ({len(value)} caractères)")
    return value.strip()


def parse(doc: Any) -> Draft:
    root = _obj(doc, "racine")
    document = _obj(root.get("document"), "document")
    category = _text(document, "category", "document")
    if category not in CATEGORIES:
        raise _fail("document.category", f"« {category} » n'est pas une catégorie CSAF 2.0 "
                    f"({', '.join(CATEGORIES)})")
    if document.get("csaf_version") != "2.0":
        raise _fail("document.csaf_version", f"« {document.get('csaf_version')} » : seule la "
                    "version 2.0 est lue")
    _text(_obj(document.get("publisher"), "document.publisher"), "name", "document.publisher")
    tracking = _obj(document.get("tracking"), "document.tracking")
    tlp = _tlp(document)
    products = _products(_obj(root.get("product_tree"), "product_tree"))
    vulns = _list(root.get("vulnerabilities"), "vulnerabilities")
    if not vulns:
        raise _fail("vulnerabilities", "aucune vulnérabilité décrite")
    cves: list[str] = []
    affected_ids: list[str] = []
    vectors: list[scoring.Score] = []
    remedies: list[str] = []
    for n, raw in enumerate(vulns):
        where = f"vulnerabilities[{n}]"
        vuln = _obj(raw, where)
        if "cve" in vuln:
            cve = vuln["cve"]
            if not isinstance(cve, str) or not CVE.fullmatch(cve):
                raise _fail(f"{where}.cve", f"« {cve} » n'est pas un identifiant CVE "
                            "(CVE-AAAA-NNNN)")
            if cve not in cves:
                cves.append(cve)
        status = _obj(vuln.get("product_status", {}), f"{where}.product_status")
        for pid in _list(status.get("known_affected", []), f"{where}.product_status.known_affected"):
            if pid not in products:
                raise _fail(f"{where}.product_status.known_affected",
                            f"produit « {pid} » absent de product_tree")
            if pid not in affected_ids:
                affected_ids.append(pid)
        for m, s in enumerate(_list(vuln.get("scores", []), f"{where}.scores")):
            vectors.extend(_score(_obj(s, f"{where}.scores[{m}]"), f"{where}.scores[{m}]"))
        for m, r in enumerate(_list(vuln.get("remediations", []), f"{where}.remediations")):
            details = _text(_obj(r, f"{where}.remediations[{m}]"), "details",
                            f"{where}.remediations[{m}]")
            if details not in remedies:
                remedies.append(details)
    if not affected_ids:
        raise _fail("vulnerabilities[].product_status.known_affected",
                    "aucun produit affecté : rien à rapprocher des inventaires")
    affected = [leaf for p in affected_ids if (leaf := products[p]) is not None]
    skipped = [p for p in affected_ids if products[p] is None]
    if not affected:
        raise _fail("product_tree", "aucun produit affecté n'a de nom CPE "
                    "(product_identification_helper.cpe)")
    worst = max(vectors, key=lambda s: s.base, default=None)
    return Draft(
        reference=_text(tracking, "id", "document.tracking", limit=120),
        version=_text(tracking, "version", "document.tracking", limit=40),
        title=_text(document, "title", "document", limit=300),
        summary=_summary(document, vulns), cve_ids=cves,
        cvss_vector=worst.vector if worst else None, tlp=tlp,
        recommendations="\n".join(remedies),
        references=_references(document), affected=[x for group in affected for x in group],
        skipped=skipped)


def _tlp(document: dict[str, Any]) -> str | None:
    distribution = document.get("distribution")
    if distribution is None:
        return None
    tlp = _obj(_obj(distribution, "document.distribution").get("tlp", {}),
               "document.distribution.tlp")
    label = tlp.get("label")
    if label is None:
        return None
    if label not in TLP_OF_CSAF:
        raise _fail("document.distribution.tlp.label", f"« {label} » n'est pas un libellé TLP "
                    "de CSAF 2.0 (WHITE, GREEN, AMBER, RED)")
    return TLP_OF_CSAF[label]


def _summary(document: dict[str, Any], vulns: list[Any]) -> str:
    texts = [n.get("text", "") for n in document.get("notes", []) or []
             if isinstance(n, dict) and n.get("category") in ("summary", "description")]
    if not texts:
        texts = [n.get("text", "") for v in vulns for n in v.get("notes", []) or []
                 if isinstance(n, dict) and n.get("category") in ("summary", "description")]
    return "\n\n".join(t for t in texts if isinstance(t, str))[:20_000]


def _references(document: dict[str, Any]) -> list[str]:
    out = []
    for n, ref in enumerate(_list(document.get("references", []), "document.references")):
        url = _text(_obj(ref, f"document.references[{n}]"), "url", f"document.references[{n}]",
                    limit=1000)
        if not url.startswith(("https://", "http://")):
            raise _fail(f"document.references[{n}].url", f"« {url[:80]} » n'est pas une URL")
        out.append(url)
    return out


def _score(s: dict[str, Any], where: str) -> list[scoring.Score]:
    out = []
    for key in ("cvss_v3", "cvss_v4"):
        if key not in s:
            continue
        block = _obj(s[key], f"{where}.{key}")
        vector = _text(block, "vectorString", f"{where}.{key}", limit=300)
        scored = scoring.score(vector)
        declared = block.get("baseScore")
        if declared is not None and (not isinstance(declared, int | float)
                                     or abs(float(declared) - float(scored.base)) > 0.05):
            raise _fail(f"{where}.{key}.baseScore", f"{declared} ne correspond pas au vecteur "
                        f"{vector} (score calculé : {scored.base})")
        out.append(scored)
    return out


# --- the product tree ---------------------------------------------------------------------

Leaf = list[tuple[Range, str]] | None  # None: a product without a CPE name


def _products(tree: dict[str, Any]) -> dict[str, Leaf]:
    found: dict[str, Leaf] = {}
    for n, branch in enumerate(_list(tree.get("branches", []), "product_tree.branches")):
        _walk(_obj(branch, f"product_tree.branches[{n}]"), f"product_tree.branches[{n}]",
              found, depth=0, version=None)
    for n, full in enumerate(_list(tree.get("full_product_names", []),
                                   "product_tree.full_product_names")):
        where = f"product_tree.full_product_names[{n}]"
        _leaf(_obj(full, where), where, found, version=None)
    if len(found) > MAX_PRODUCTS:
        raise _fail("product_tree", f"plus de {MAX_PRODUCTS} produits")
    return found


def _walk(branch: dict[str, Any], where: str, found: dict[str, Leaf], *, depth: int,
          version: tuple[str, str] | None) -> None:
    if depth > 30:
        raise _fail(where, "arbre de produits trop profond")
    category = _text(branch, "category", where, limit=60)
    name = _text(branch, "name", where, limit=300)
    if category in ("product_version", "product_version_range"):
        version = (category, name)
    if "product" in branch:
        _leaf(_obj(branch["product"], f"{where}.product"), f"{where}.product", found,
              version=version)
    for n, child in enumerate(_list(branch.get("branches", []), f"{where}.branches")):
        _walk(_obj(child, f"{where}.branches[{n}]"), f"{where}.branches[{n}]", found,
              depth=depth + 1, version=version)


def _leaf(product: dict[str, Any], where: str, found: dict[str, Leaf], *,
          version: tuple[str, str] | None) -> None:
    pid = _text(product, "product_id", where, limit=200)
    if pid in found:
        raise _fail(f"{where}.product_id", f"« {pid} » est défini deux fois")
    helper = product.get("product_identification_helper") or {}
    raw = _obj(helper, f"{where}.product_identification_helper").get("cpe")
    if raw is None:
        found[pid] = None
        return
    try:
        name = cpes.parse(raw if isinstance(raw, str) else "")
    except Invalid as exc:
        raise _fail(f"{where}.product_identification_helper.cpe", exc.fr) from None
    base = {"part": name.part, "vendor": name.vendor, "product": name.product}
    if name.has_version:
        found[pid] = [(Range(**base, version=name.plain_version), raw)]
    elif version and version[0] == "product_version":
        found[pid] = [(Range(**base, version=version[1]), raw)]
    elif version:
        found[pid] = [(r, raw) for r in vers_ranges(version[1], base, where)]
    else:
        found[pid] = [(Range(**base), raw)]


_CONSTRAINT = re.compile(r"(>=|<=|!=|>|<|=)?\s*(\S+)")


def vers_ranges(text: str, base: dict[str, str], where: str) -> list[Range]:
    """Ranges of a ``vers:`` specifier (``vers:generic/>=2.4.0|<2.4.58``), whose constraints,
    sorted by version, alternate lower and upper bounds; ``vers:all/*`` is every version."""
    spec = text.strip()
    if not spec.startswith("vers:") or "/" not in spec:
        raise _fail(where, f"intervalle de versions « {spec[:80]} » : la forme « vers:schéma/"
                    "contraintes » est attendue (ex. vers:generic/>=2.4.0|<2.4.58)")
    constraints = spec.split("/", 1)[1].strip()
    if constraints == "*":
        return [Range(**base)]
    out: list[Range] = []
    low: tuple[str, str] | None = None
    for item in (c.strip() for c in constraints.split("|")):
        m = _CONSTRAINT.fullmatch(item)
        if not m:
            raise _fail(where, f"contrainte de version « {item} » illisible")
        op, value = m.group(1) or "=", m.group(2)
        if op == "!=":
            raise _fail(where, "les exclusions « != » ne sont pas prises en charge")
        if op == "=":
            out.append(Range(**base, version=value))
        elif op in (">=", ">"):
            if low is not None:
                raise _fail(where, f"deux bornes basses de suite dans « {constraints} »")
            low = (op, value)
        else:
            start = {"start_including": low[1]} if low and low[0] == ">=" else (
                {"start_excluding": low[1]} if low else {})
            end = {"end_including": value} if op == "<=" else {"end_excluding": value}
            out.append(Range(**base, **start, **end))
            low = None
    if low is not None:
        out.append(Range(**base, **({"start_including": low[1]} if low[0] == ">="
                                    else {"start_excluding": low[1]})))
    return out
