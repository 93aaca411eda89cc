"""Fellegi-Sunter parameters: m and u probabilities per comparison level, the prior, and
their estimation without labelled data.

* u (how often two *different* people agree at a level) is counted on random pairs of the
  file itself, as Splink does.
* m (how often two records of the *same* person agree at a level) is estimated by EM over
  the blocked pairs, in two sessions so that a comparison is never trained on the pairs
  that its own blocking selected: pairs with the same birth date train the names, NIR, sex
  and birth place; pairs with the same names train the birth date.
* The prior is the share of matching pairs among all pairs.

Defaults (a start for EM, and the parameters of ``score_pair``) are rounded values that EM
found on synthetic French files of 100,000 people (``bench/identity_dedup.py``), with u of
exact agreement set for a population of a million: half the records carry a NIR, a few
percent of birth places and dates are wrong, married women are often registered under their
used name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from esante.identity.matching.internals.comparisons import COMPARISONS

_M_DEFAULT: dict[str, list[float]] = {
    "nir": [0.93, 0.05, 0.001, 0.0001, 0.02],
    "birth_date": [0.92, 0.012, 0.066, 0.002],
    "birth_name": [0.80, 0.106, 0.07, 0.015, 0.009],
    "first_names": [0.70, 0.127, 0.10, 0.066, 0.005, 0.002],
    "used_name": [0.9, 0.1],
    "sex": [0.998, 0.002],
    "birth_place": [0.90, 0.04, 0.06],
}
_U_DEFAULT: dict[str, list[float]] = {
    "nir": [1e-6, 1e-6, 1e-6, 0.93, 0.07],
    "birth_date": [3e-5, 1.5e-5, 0.004, 0.996],
    "birth_name": [0.0025, 0.001, 0.0017, 0.0045, 0.99],
    "first_names": [0.0005, 0.002, 0.006, 0.003, 0.03, 0.9585],
    "used_name": [0.01, 0.99],
    "sex": [0.5, 0.5],
    "birth_place": [0.0036, 0.0094, 0.987],
}
_FLOOR = 1e-6
# No level is impossible for the same person: EM's zeros are floored.
_M_FLOOR = 1e-4
# Term-frequency adjustments are bounded: a one-off spelling must not outweigh a birth date.
TF_BOUNDS = (-4.0, 8.0)


@dataclass
class Parameters:
    """m and u per comparison level, the prior probability of a match, the threshold."""

    m: dict[str, list[float]] = field(default_factory=lambda: {k: list(v) for k, v in _M_DEFAULT.items()})
    u: dict[str, list[float]] = field(default_factory=lambda: {k: list(v) for k, v in _U_DEFAULT.items()})
    prior: float = 1e-6
    threshold: float = 0.9

    def weight(self, name: str, level: int) -> float:
        """log2(m/u) of one level."""
        return math.log2(max(self.m[name][level], _FLOOR) / max(self.u[name][level], _FLOOR * 1e-3))

    def weight_sql(self) -> str:
        """The pair's match weight from its ``g_*`` columns and its ``tf_*`` columns."""
        terms = [f"{math.log2(self.prior / (1 - self.prior)):.6f}"]
        for c in COMPARISONS:
            cases = " ".join(f"WHEN {i} THEN {self.weight(c.name, i):.6f}" for i in range(len(c.levels)))
            terms.append(f"CASE g_{c.name} {cases} ELSE 0 END")
        low, high = TF_BOUNDS
        for column, name, levels in (("tf_bn", "birth_name", (0,)), ("tf_f1", "first_names", (0, 1))):
            cases = " ".join(
                f"WHEN {i} THEN least({high}, greatest({low}, "
                f"log2({max(self.u[name][i], _FLOOR)} / {column})))" for i in levels)
            terms.append(f"coalesce(CASE g_{name} {cases} END, 0)")
        return " + ".join(terms)


def estimate_m(patterns: np.ndarray, counts: np.ndarray, params: Parameters,
               active: list[str], iterations: int = 25) -> float:
    """EM over the distinct level patterns of a set of pairs (u fixed): updates
    ``params.m`` for the ``active`` comparisons and returns the share of matches."""
    names = [c.name for c in COMPARISONS]
    columns = [names.index(a) for a in active]
    share = 0.1
    weights = counts.astype(float)
    for _ in range(iterations):
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for j in columns:
            name = names[j]
            level = patterns[:, j]
            known = level >= 0
            m = np.asarray(params.m[name])
            u = np.asarray(params.u[name])
            log_m[known] += np.log(np.maximum(m[level[known]], _FLOOR))
            log_u[known] += np.log(np.maximum(u[level[known]], _FLOOR * 1e-3))
        odds = np.exp(np.clip(log_m - log_u, -700, 700)) * share / (1 - share)
        posterior = odds / (1 + odds)
        matched = posterior * weights
        share = float(np.clip(matched.sum() / weights.sum(), 1e-9, 1 - 1e-9))
        for j in columns:
            name = names[j]
            level = patterns[:, j]
            sums = np.bincount(level[level >= 0], weights=matched[level >= 0],
                               minlength=len(params.m[name]))
            if sums.sum() > 0:
                params.m[name] = list(np.clip(sums / sums.sum(), _M_FLOOR, 1 - _M_FLOOR))
    return share


def estimate_share(patterns: np.ndarray, counts: np.ndarray, params: Parameters,
                   iterations: int = 30) -> float:
    """Share of matches among a set of pairs, all parameters fixed (EM on the share only)."""
    log_ratio = np.zeros(len(patterns))
    for j, c in enumerate(COMPARISONS):
        level = patterns[:, j]
        known = level >= 0
        ratio = np.array([params.weight(c.name, i) for i in range(len(c.levels))])
        log_ratio[known] += ratio[level[known]] * math.log(2)
    weights = counts.astype(float)
    share = 0.1
    for _ in range(iterations):
        odds = np.exp(np.clip(log_ratio, -700, 700)) * share / (1 - share)
        share = float(np.clip((odds / (1 + odds) * weights).sum() / weights.sum(), 1e-9, 1 - 1e-9))
    return share


def estimate_u(observed: dict[str, np.ndarray], params: Parameters, pseudo_count: float = 1000) -> None:
    """u from level counts of random pairs, shrunk towards the defaults (small files)."""
    for name, counts in observed.items():
        prior = np.asarray(params.u[name])
        params.u[name] = list((counts + pseudo_count * prior) / (counts.sum() + pseudo_count))
