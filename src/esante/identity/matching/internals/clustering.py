"""Clusters: connected components of the accepted links, with a guard against chaining.

A chain of plausible links can join two different people (A-B and B-C accepted, A and C
twins). A component is re-built link by link, strongest first, when it holds two different
reliable NIRs or a pair that a rule declared distinct (twins, two reliable NIRs): a link
that would join two groups separated by such a conflict is refused.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` records given the accepted links."""
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def flagged_components(labels: np.ndarray, reliable_nir: np.ndarray,
                       cannot_left: np.ndarray, cannot_right: np.ndarray) -> np.ndarray:
    """Labels of components holding a conflict (two reliable NIRs, or a cannot-link pair)."""
    flagged: set[int] = set()
    same = labels[cannot_left] == labels[cannot_right]
    flagged.update(int(x) for x in np.unique(labels[cannot_left[same]]))
    has_nir = reliable_nir >= 0
    if has_nir.any():
        pairs = np.unique(np.stack([labels[has_nir], reliable_nir[has_nir]], axis=1), axis=0)
        values, counts = np.unique(pairs[:, 0], return_counts=True)
        flagged.update(int(x) for x in values[counts > 1])
    return np.array(sorted(flagged), dtype=np.int64)


class _Groups:
    """Union-find whose groups remember their reliable NIRs and members."""

    def __init__(self, members: list[int], nir: dict[int, int]) -> None:
        self.parent = {m: m for m in members}
        self.members = {m: {m} for m in members}
        self.nirs = {m: ({nir[m]} if nir.get(m, -1) >= 0 else set()) for m in members}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def try_union(self, x: int, y: int, cannot: dict[int, set[int]]) -> bool:
        a, b = self.find(x), self.find(y)
        if a == b:
            return True
        if self.nirs[a] and self.nirs[b] and self.nirs[a] != self.nirs[b]:
            return False
        small, large = (a, b) if len(self.members[a]) <= len(self.members[b]) else (b, a)
        if any(self.find(o) == large for m in self.members[small] for o in cannot.get(m, ())):
            return False
        self.parent[small] = large
        self.members[large] |= self.members.pop(small)
        self.nirs[large] |= self.nirs.pop(small)
        return True


def split_conflicts(labels: np.ndarray, flagged: np.ndarray, left: np.ndarray, right: np.ndarray,
                    prob: np.ndarray, reliable_nir: np.ndarray, cannot_left: np.ndarray,
                    cannot_right: np.ndarray) -> np.ndarray:
    """Re-build the flagged components link by link, strongest first, refusing conflicts;
    the records of a refused group get a new label."""
    if len(flagged) == 0:
        return labels
    labels = labels.copy()
    in_flagged = np.isin(labels, flagged)
    edges = np.flatnonzero(in_flagged[left])
    edges = edges[np.argsort(-prob[edges], kind="stable")]
    cannot: dict[int, set[int]] = defaultdict(set)
    for x, y in zip(cannot_left.tolist(), cannot_right.tolist(), strict=True):
        if in_flagged[x] and labels[x] == labels[y]:
            cannot[x].add(y)
            cannot[y].add(x)
    members = np.flatnonzero(in_flagged).tolist()
    groups = _Groups(members, {m: int(reliable_nir[m]) for m in members})
    for e in edges.tolist():
        groups.try_union(int(left[e]), int(right[e]), cannot)
    next_label = int(labels.max()) + 1
    roots: dict[int, int] = {}
    for m in members:
        root = groups.find(m)
        if root not in roots:
            roots[root] = next_label
            next_label += 1
        labels[m] = roots[root]
    return labels
