"""CPE 2.3 formatted strings (NISTIR 7695, section 6.2): parsing with precise errors.

A formatted string has 13 colon-separated fields: ``cpe``, ``2.3``, the part (``a``
application, ``o`` operating system, ``h`` hardware) and ten attributes (vendor, product,
version, update, edition, language, sw_edition, target_sw, target_hw, other). A colon
inside a value is escaped (``\\:``). The per-attribute grammar is the one of the official
CPE 2.3 dictionary schema (``cpe23Type``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from esante.core.errors import Invalid

ATTRIBUTES = ("vendor", "product", "version", "update", "edition", "language", "sw_edition",
              "target_sw", "target_hw", "other")
PARTS = {"a": "application", "o": "système d'exploitation", "h": "matériel"}
_PUNCT = r"""\\[\\*?!"#$%&'()+,/:;<=>@\[\]^`{|}~]"""
_VALUE = re.compile(rf"(?:\?*|\*?)(?:[a-zA-Z0-9\-._]|{_PUNCT})+(?:\?*|\*?)|[*\-]")
_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?|[*\-]")
_SPLIT = re.compile(r"(?<!\\):")
MAX_LENGTH = 1000


@dataclass(frozen=True)
class Cpe:
    """A parsed CPE 2.3 name; values keep their escapes, ``*`` is ANY, ``-`` NA."""

    part: str
    vendor: str
    product: str
    version: str
    update: str = "*"
    edition: str = "*"
    language: str = "*"
    sw_edition: str = "*"
    target_sw: str = "*"
    target_hw: str = "*"
    other: str = "*"

    def uri(self) -> str:
        values = [getattr(self, a) for a in ATTRIBUTES]
        return ":".join(("cpe", "2.3", self.part, *values))

    def with_version(self, version: str) -> Cpe:
        return Cpe(**{**self.__dict__, "version": escape(version)})

    @property
    def has_version(self) -> bool:
        return self.version not in ("*", "-", "")

    @property
    def plain_version(self) -> str:
        """The version without its escapes (``1.0\\.2`` → ``1.0.2``)."""
        return unescape(self.version)


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def escape(value: str) -> str:
    """A plain string as a CPE attribute value (punctuation other than ``-._`` escaped)."""
    return "".join(c if c.isalnum() or c in "-._" else "\\" + c for c in value.strip())


def parse(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string, or raise ``Invalid`` naming what is wrong."""
    raw = (text or "").strip()
    if not raw:
        raise Invalid("nom CPE vide", "empty CPE name", code="cpe")
    if len(raw) > MAX_LENGTH:
        raise Invalid(f"nom CPE trop long ({len(raw)} caractères, {MAX_LENGTH} au plus)",
                      "CPE name too long", code="cpe")
    if raw.lower().startswith("cpe:/"):
        raise Invalid(f"« {raw[:80]} » est un nom CPE 2.2 (URI) : donnez la forme CPE 2.3 "
                      "« cpe:2.3:partie:éditeur:produit:version:… »",
                      "CPE 2.2 URI binding: a CPE 2.3 formatted string is expected", code="cpe")
    fields = _SPLIT.split(raw)
    if fields[0] != "cpe" or len(fields) < 2 or fields[1] != "2.3":
        raise Invalid(f"« {raw[:80]} » ne commence pas par « cpe:2.3: »",
                      "a CPE 2.3 name starts with cpe:2.3:", code="cpe")
    if len(fields) != 13:
        raise Invalid(f"« {raw[:80]} » a {len(fields)} champs séparés par « : », il en faut 13 "
                      "(cpe:2.3:partie:éditeur:produit:version:mise à jour:édition:langue:"
                      "édition logicielle:logiciel cible:matériel cible:autre)",
                      f"a CPE 2.3 name has 13 fields, not {len(fields)}", code="cpe")
    part = fields[2]
    if part not in PARTS and part != "*":
        raise Invalid(f"partie CPE « {part} » inconnue : a (application), o (système "
                      "d'exploitation) ou h (matériel)", f"unknown CPE part {part!r}", code="cpe")
    for name, value in zip(ATTRIBUTES, fields[3:], strict=True):
        pattern = _LANGUAGE if name == "language" else _VALUE
        if not pattern.fullmatch(value):
            raise Invalid(f"attribut CPE « {name} » invalide : « {value[:60]} » (lettres, "
                          "chiffres, « - . _ », la ponctuation échappée par « \\ », ou « * » / "
                          "« - »)", f"invalid CPE attribute {name}: {value[:60]!r}", code="cpe")
    vendor, product = fields[3], fields[4]
    for name, value in (("vendor", vendor), ("product", product)):
        if value in ("*", "-"):
            raise Invalid(f"l'attribut CPE « {name} » doit être renseigné (pas « {value} »)",
                          f"CPE {name} must be given", code="cpe")
    return Cpe(part if part != "*" else "a", vendor.lower(), product.lower(), *fields[5:])
