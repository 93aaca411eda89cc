"""Clusters: connected components of accepted links, split where a chain joins two people."""

from __future__ import annotations

import numpy as np

from esante.identity.matching.internals import clustering


def cluster(n: int, links: list[tuple[int, int, float]], nir: list[int],
            cannot: tuple[tuple[int, int], ...] = ()) -> list[int]:
    left = np.array([a for a, _, _ in links], dtype=np.int64)
    right = np.array([b for _, b, _ in links], dtype=np.int64)
    weight = np.array([w for _, _, w in links])
    reliable = np.array(nir, dtype=np.int64)
    c_left = np.array([a for a, _ in cannot], dtype=np.int64)
    c_right = np.array([b for _, b in cannot], dtype=np.int64)
    labels = clustering.components(n, left, right)
    flagged = clustering.flagged_components(labels, reliable, c_left, c_right)
    labels = clustering.split_conflicts(labels, flagged, left, right, weight, reliable, c_left, c_right)
    # canonical form: the smallest member's index names each group
    first: dict[int, int] = {}
    return [first.setdefault(int(label), i) for i, label in enumerate(labels)]


def test_links_make_components() -> None:
    assert cluster(5, [(0, 1, 10), (1, 2, 9), (3, 4, 8)], [-1] * 5) == [0, 0, 0, 3, 3]


def test_a_chain_between_two_reliable_nirs_is_cut_at_its_weakest_link() -> None:
    # 0 and 2 carry two different reliable NIRs; 1 (no NIR) is closer to 0
    assert cluster(3, [(0, 1, 20), (1, 2, 5)], [7, -1, 8]) == [0, 0, 2]
    assert cluster(3, [(0, 1, 5), (1, 2, 20)], [7, -1, 8]) == [0, 1, 1]


def test_same_nir_everywhere_is_not_a_conflict() -> None:
    assert cluster(3, [(0, 1, 20), (1, 2, 5)], [7, -1, 7]) == [0, 0, 0]


def test_twins_linked_through_a_third_record_are_separated() -> None:
    # 0 and 2 are twins (cannot-link); 1 is a record with missing first names
    assert cluster(3, [(0, 1, 12), (1, 2, 11)], [-1, -1, -1], cannot=((0, 2),)) == [0, 0, 2]


def test_cannot_link_across_components_changes_nothing() -> None:
    assert cluster(4, [(0, 1, 12), (2, 3, 11)], [-1] * 4, cannot=((0, 2),)) == [0, 0, 2, 2]
