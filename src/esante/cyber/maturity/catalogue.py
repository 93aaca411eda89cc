"""The questionnaire: the 42 measures of the ANSSI hygiene guide (2017 edition), in its ten
chapters, plus the governance items of a health establishment, read once from the data file
shipped in the package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVEL_LABELS = {"standard": "standard", "renforce": "renforcé"}
ANSWER_LABELS = {"done": "Fait", "partial": "Partiel", "not_done": "Non fait",
                 "not_applicable": "Non applicable"}
# Share of an item's weight an answer earns; "not applicable" leaves the item out.
ANSWER_VALUES = {"done": 1.0, "partial": 0.5, "not_done": 0.0}
# Standard measures are the base every establishment is expected to reach: they weigh
# twice as much as reinforced ones, in the score and in the order of recommendations.
LEVEL_WEIGHTS = {"standard": 2.0, "renforce": 1.0}


@dataclass(frozen=True)
class Chapter:
    code: str
    title: str


@dataclass(frozen=True)
class Item:
    code: str  # "M01".."M42" for the guide's measures, "G1".. for governance
    number: int | None  # the guide's measure number
    chapter: str
    level: str
    title: str

    @property
    def weight(self) -> float:
        return LEVEL_WEIGHTS[self.level]

    @property
    def label(self) -> str:
        return f"Mesure {self.number}" if self.number else f"Gouvernance {self.code}"


@dataclass(frozen=True)
class Catalogue:
    source: str
    chapters: tuple[Chapter, ...]
    items: tuple[Item, ...]

    def by_code(self) -> dict[str, Item]:
        return {i.code: i for i in self.items}

    def chapter_title(self, code: str) -> str:
        return next(c.title for c in self.chapters if c.code == code)


@cache
def catalogue() -> Catalogue:
    raw = json.loads(resources.files("esante.cyber.maturity").joinpath(
        "data/hygiene_2017.json").read_text(encoding="utf-8"))
    items = [Item(f"M{m['number']:02d}", m["number"], m["chapter"], m["level"], m["title"])
             for m in raw["measures"]]
    items += [Item(g["code"], None, "GS", g["level"], g["title"]) for g in raw["governance"]]
    return Catalogue(raw["source"], tuple(Chapter(c["code"], c["title"]) for c in raw["chapters"]),
                     tuple(items))
