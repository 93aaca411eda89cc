"""Scores and recommendations of one set of answers, and the median of peers.

A chapter's score is the weighted share of its applicable items that is done (partial counts
half), from 0 to 100; the overall score is the same over every applicable item. Items
answered "not applicable" are left out; a chapter with none applicable has no score."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from esante.cyber.maturity.catalogue import ANSWER_VALUES, Catalogue, Item

MIN_PEERS = 5  # a median is shown only over at least this many other establishments


@dataclass(frozen=True)
class Scores:
    overall: float | None
    chapters: dict[str, float | None]


@dataclass(frozen=True)
class Recommendation:
    item: Item
    answer: str
    priority: float  # weight × what is missing: standard not done first


def _score(items: Sequence[Item], answers: Mapping[str, str]) -> float | None:
    total = earned = 0.0
    for item in items:
        value = ANSWER_VALUES.get(answers.get(item.code, "not_done"))
        if value is None:  # not applicable
            continue
        total += item.weight
        earned += item.weight * value
    return round(100 * earned / total, 1) if total else None


def score(cat: Catalogue, answers: Mapping[str, str]) -> Scores:
    chapters = {c.code: _score([i for i in cat.items if i.chapter == c.code], answers)
                for c in cat.chapters}
    return Scores(_score(cat.items, answers), chapters)


def recommendations(cat: Catalogue, answers: Mapping[str, str]) -> list[Recommendation]:
    """Items not done or partial, the most urgent first: standard level before reinforced,
    then the largest weighted gap, then the guide's order."""
    out = []
    for item in cat.items:
        answer = answers.get(item.code, "not_done")
        value = ANSWER_VALUES.get(answer)
        if value is None or value >= 1.0:
            continue
        out.append(Recommendation(item, answer, round(item.weight * (1 - value), 2)))
    order = {code: i for i, code in enumerate(i.code for i in cat.items)}
    out.sort(key=lambda r: (r.item.level != "standard", -r.priority, order[r.item.code]))
    return out


def peer_median(peers: Sequence[Scores], chapter_codes: Sequence[str]) -> Scores | None:
    """The median of the peers' scores, or None when fewer than MIN_PEERS answered (a
    median over fewer would come too close to one establishment's own figures)."""
    if len(peers) < MIN_PEERS:
        return None

    def med(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 1) if len(known) >= MIN_PEERS else None

    return Scores(med([p.overall for p in peers]),
                  {c: med([p.chapters.get(c) for p in peers]) for c in chapter_codes})
