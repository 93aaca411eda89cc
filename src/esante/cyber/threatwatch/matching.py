"""Set-based matching of advisories' affected products against inventories.

Inventories are indexed once by (part, vendor, product); within a product, the installed
versions are sorted by version order (see ``versions``), so an affected range is found by
two binary searches instead of a comparison with every installed product. An installed
product whose version is unknown (``*`` or ``-``) is reported as possibly affected by any
advisory that names its product."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from esante.cyber.threatwatch import versions

ProductKey = tuple[str, str, str]  # part, vendor, product


@dataclass(frozen=True)
class Range:
    """An affected product: one exact version, or a range (bounds ``None`` when open)."""

    part: str
    vendor: str
    product: str
    version: str = "*"  # an exact version, or * (every version, bounded by the range)
    start_including: str | None = None
    start_excluding: str | None = None
    end_including: str | None = None
    end_excluding: str | None = None

    @property
    def key(self) -> ProductKey:
        return (self.part, self.vendor, self.product)

    def bounds(self) -> list[str]:
        exact = [self.version] if self.version not in ("*", "-", "") else []
        return exact + [b for b in (self.start_including, self.start_excluding,
                                    self.end_including, self.end_excluding) if b]

    def contains(self, version: str) -> bool:
        """One version against this range (the plain comparison the index speeds up)."""
        if self.version not in ("*", "-", ""):
            return versions.compare(version, self.version) == 0
        if self.start_including and versions.compare(version, self.start_including) < 0:
            return False
        if self.start_excluding and versions.compare(version, self.start_excluding) <= 0:
            return False
        if self.end_including and versions.compare(version, self.end_including) > 0:
            return False
        return not (self.end_excluding and versions.compare(version, self.end_excluding) >= 0)


@dataclass
class _Product:
    """The installed versions of one product across inventories, sorted."""

    pep440: bool
    keys: list[Any]
    versions: list[str]
    items: list[Any]  # what the caller attached to each installed version
    unknown: list[Any] = field(default_factory=list)  # installed, version not declared


class InventoryIndex:
    """Installed products of many inventories, indexed for matching.

    ``rows``: (part, vendor, product, version, item) where item is whatever the caller
    wants back for a match (an establishment id, an inventory row id...)."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str, Any]]) -> None:
        grouped: dict[ProductKey, list[tuple[str, Any]]] = defaultdict(list)
        for part, vendor, product, version, item in rows:
            grouped[(part, vendor, product)].append((version, item))
        self._products: dict[ProductKey, _Product] = {}
        for key, entries in grouped.items():
            known = [(v, i) for v, i in entries if v not in ("*", "-", "")]
            unknown = [i for v, i in entries if v in ("*", "-", "")]
            pep440 = versions.all_pep([v for v, _ in known])
            sort_key = versions.key_function(pep440)
            keyed = sorted(((sort_key(v), v, i) for v, i in known), key=lambda t: t[0])
            self._products[key] = _Product(pep440, [k for k, _, _ in keyed],
                                           [v for _, v, _ in keyed], [i for _, _, i in keyed],
                                           unknown)

    def __len__(self) -> int:
        return len(self._products)

    def match(self, ranges: Iterable[Range]) -> list[tuple[Any, str]]:
        """(item, installed version) for every installed product an advisory affects;
        the version is ``*`` for an installed product of unknown version."""
        out: list[tuple[Any, str]] = []
        for r in ranges:
            product = self._products.get(r.key)
            if product is None:
                continue
            out.extend((i, "*") for i in product.unknown)
            if product.pep440 and not versions.all_pep(r.bounds()):
                # a bound outside PEP 440: compare one by one (loose order) for this product
                out.extend((i, v) for v, i in zip(product.versions, product.items, strict=True)
                           if r.contains(v))
                continue
            lo, hi = _slice(product, r)
            out.extend(zip(product.items[lo:hi], product.versions[lo:hi], strict=True))
        return out


def _slice(product: _Product, r: Range) -> tuple[int, int]:
    key = versions.key_function(product.pep440)
    keys = product.keys
    if r.version not in ("*", "-", ""):
        k = key(r.version)
        return bisect_left(keys, k), bisect_right(keys, k)
    lo, hi = 0, len(keys)
    if r.start_including:
        lo = max(lo, bisect_left(keys, key(r.start_including)))
    if r.start_excluding:
        lo = max(lo, bisect_right(keys, key(r.start_excluding)))
    if r.end_including:
        hi = min(hi, bisect_right(keys, key(r.end_including)))
    if r.end_excluding:
        hi = min(hi, bisect_left(keys, key(r.end_excluding)))
    return lo, max(lo, hi)
