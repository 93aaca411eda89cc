"""Synthetic national data, vectorised (numpy draws, pyarrow columns), written in chunks.

Three Parquet files: ``people`` (one row per person, with a NIR whose key is valid),
``stays`` (hospital stays) and ``claims`` (outpatient drug dispensations). Every chunk of
people is drawn from its own seeded generator: the same seed and chunk size give the same
files. Files are written under a
temporary folder and moved into place at the end: a failed run leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from stdnum import ean

from esante.core.identifiers import finess_key
from esante.core.orgs.data import region_of_department
from esante.datahub.synth import reference as ref

GENERATOR_VERSION = "1"
DAY = np.timedelta64(1, "D")
FILES = ("people", "stays", "claims")


@dataclass
class SynthReport:
    people: int
    stays: int
    claims: int
    seed: int
    seconds: float
    period_start: str
    period_end: str
    generator_version: str = GENERATOR_VERSION

    def rate(self) -> float:
        return self.people / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Tables:
    """The fixed reference of a run: communes, establishments, drug presentations."""

    commune_codes: pa.Array  # strings, INSEE format
    commune_place: np.ndarray  # the birth-place digits of the NIR as an integer (2A → 19)
    commune_dept: np.ndarray  # index into departments
    commune_p: np.ndarray  # probability of living there
    departments: pa.Array
    regions: pa.Array  # region of each department
    dept_region: np.ndarray
    est_finess: pa.Array
    est_dept: np.ndarray
    est_start: np.ndarray  # first establishment of each department
    est_count: np.ndarray
    cip13: pa.Array
    cip_price: np.ndarray


def _weights(values: Sequence[float]) -> np.ndarray:
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()


def build_tables(seed: int) -> Tables:
    rng = np.random.default_rng([seed, 0xC0DE])
    depts = list(ref.DEPARTMENT_POPULATION)
    dept_p = _weights([ref.DEPARTMENT_POPULATION[d] for d in depts])
    codes: list[str] = []
    places: list[int] = []
    owner: list[int] = []
    probs: list[float] = []
    for i, dept in enumerate(depts):
        pop = ref.DEPARTMENT_POPULATION[dept]
        if dept == "75":
            numbers, width = np.array([56]), 3  # Paris is one commune, 75056
        elif len(dept) == 3:
            numbers, width = np.sort(rng.choice(np.arange(1, 60), size=min(34, 59), replace=False)), 2
        else:
            n = int(min(700, max(30, pop // 3)))
            numbers, width = np.sort(rng.choice(np.arange(1, 1000), size=n, replace=False)), 3
        share = 1.0 / np.arange(1, len(numbers) + 1)  # Zipf: one big town, many villages
        rng.shuffle(share)
        share /= share.sum()
        digits = dept.replace("2A", "19").replace("2B", "18")
        for num, s in zip(numbers, share, strict=True):
            codes.append(f"{dept}{int(num):0{width}d}")
            places.append(int(f"{digits}{int(num):0{width}d}"))
            owner.append(i)
            probs.append(float(dept_p[i] * s))
    regions = sorted({region_of_department(d) or "" for d in depts})
    dept_region = np.array([regions.index(region_of_department(d) or "") for d in depts])
    finess: list[str] = []
    est_dept: list[int] = []
    est_start: list[int] = []
    est_count: list[int] = []
    for i, dept in enumerate(depts):
        n = int(min(25, max(2, ref.DEPARTMENT_POPULATION[dept] // 100)))
        est_start.append(len(finess))
        est_count.append(n)
        for k in range(n):
            head = f"{dept}{'0' * (6 - len(dept))}{k + 1:02d}"[:8] if len(dept) == 3 else \
                f"{dept}00{k + 1:04d}"
            finess.append(head + finess_key(head))
            est_dept.append(i)
    cips: list[str] = []
    for d in range(len(ref.DRUGS)):
        for k in range(ref.PRESENTATIONS_PER_DRUG):
            body = f"34009{3000000 + d * 1000 + k * 37:07d}"[:12]
            cips.append(body + ean.calc_check_digit(body))
    return Tables(
        commune_codes=pa.array(codes, pa.string()), commune_place=np.array(places, np.int64),
        commune_dept=np.array(owner, np.int32), commune_p=_weights(probs),
        departments=pa.array(depts, pa.string()), regions=pa.array(regions, pa.string()),
        dept_region=dept_region.astype(np.int32), est_finess=pa.array(finess, pa.string()),
        est_dept=np.array(est_dept, np.int32), est_start=np.array(est_start, np.int64),
        est_count=np.array(est_count, np.int64), cip13=pa.array(cips, pa.string()),
        cip_price=np.round(rng.lognormal(mean=2.0, sigma=0.9, size=len(cips)), 2))


def _dict(indices: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")


def _step(ages: np.ndarray, table: Sequence[tuple[int, float]]) -> np.ndarray:
    lows = np.array([lo for lo, _ in table])
    rates = np.array([r for _, r in table])
    return rates[np.searchsorted(lows, ages, side="right") - 1]


PEOPLE_SCHEMA = pa.schema([
    ("person_id", pa.int64()), ("nir", pa.string()), ("sex", pa.string()),
    ("birth_date", pa.date32()), ("commune", pa.dictionary(pa.int32(), pa.string())),
    ("department", pa.dictionary(pa.int32(), pa.string())),
    ("region", pa.dictionary(pa.int32(), pa.string())),
])
STAYS_SCHEMA = pa.schema([
    ("stay_id", pa.int64()), ("person_id", pa.int64()),
    ("finess", pa.dictionary(pa.int32(), pa.string())), ("admission_date", pa.date32()),
    ("discharge_date", pa.date32()), ("length_of_stay", pa.int16()),
    ("main_diagnosis", pa.dictionary(pa.int32(), pa.string())),
    ("secondary_diagnosis", pa.dictionary(pa.int32(), pa.string())),
    ("act", pa.dictionary(pa.int32(), pa.string())),
])
CLAIMS_SCHEMA = pa.schema([
    ("claim_id", pa.int64()), ("person_id", pa.int64()), ("dispensed_on", pa.date32()),
    ("atc", pa.dictionary(pa.int32(), pa.string())),
    ("cip13", pa.dictionary(pa.int32(), pa.string())), ("boxes", pa.int8()),
    ("amount", pa.float32()),
])


@dataclass
class People:
    table: pa.Table
    ages: np.ndarray
    female: np.ndarray
    birth: np.ndarray  # datetime64[D]
    dept: np.ndarray


def draw_people(rng: np.random.Generator, t: Tables, first_id: int, n: int) -> People:
    refday = np.datetime64(ref.REFERENCE_DATE, "D")
    band_p = _weights([m for _, m, _ in ref.AGE_BANDS])
    band = rng.choice(len(ref.AGE_BANDS), size=n, p=band_p)
    lows = np.array([lo for lo, _, _ in ref.AGE_BANDS])
    female_share = np.array([f for _, _, f in ref.AGE_BANDS])
    age_days = (lows[band] * 365.25 + rng.random(n) * 5 * 365.25).astype(np.int64)
    birth = refday - age_days * DAY
    ages = (age_days // 365.25).astype(np.int64)
    female = rng.random(n) < female_share[band]
    sex = np.where(female, 2, 1)
    commune = rng.choice(len(t.commune_p), size=n, p=t.commune_p)
    dept = t.commune_dept[commune]
    # Birth place: abroad (99 + country), the commune of residence, or anywhere in France.
    abroad = rng.random(n) < ref.BORN_ABROAD_SHARE
    here = rng.random(n) < ref.BORN_IN_DEPARTMENT_OF_RESIDENCE
    born_in = np.where(here, commune, rng.choice(len(t.commune_p), size=n, p=t.commune_p))
    country_codes = np.array([int(c) for c, _ in ref.BIRTH_COUNTRIES])
    country = country_codes[rng.choice(len(country_codes), size=n,
                                       p=_weights([w for _, w in ref.BIRTH_COUNTRIES]))]
    place_num = np.where(abroad, 99000 + country, t.commune_place[born_in])
    place_str = pc.if_else(pa.array(abroad), pc.binary_join_element_wise(
        "99", _pad(country, 3), ""), pc.take(t.commune_codes, pa.array(born_in)))
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    order = rng.integers(1, 1000, size=n)
    n13 = (sex * 10**12 + (years % 100) * 10**10 + months * 10**8 + place_num * 1000 + order)
    key = 97 - n13 % 97
    nir = pc.binary_join_element_wise(
        _pad(sex, 1), _pad(years % 100, 2), _pad(months, 2), place_str, _pad(order, 3),
        _pad(key, 2), "")
    table = pa.Table.from_arrays([
        pa.array(np.arange(first_id, first_id + n, dtype=np.int64)), nir,
        pa.array(np.where(female, "F", "M")), pa.array(birth, pa.date32()),
        _dict(commune, t.commune_codes), _dict(dept, t.departments),
        _dict(t.dept_region[dept], t.regions)], schema=PEOPLE_SCHEMA)
    return People(table=table, ages=ages, female=female, birth=birth, dept=dept)


def _pick(rng: np.random.Generator, table: Sequence[tuple[Any, ...]], mask: np.ndarray,
          out: np.ndarray, offset: int) -> None:
    weights = _weights([row[-1] for row in table])
    out[mask] = offset + rng.choice(len(table), size=int(mask.sum()), p=weights)


DX_GROUPS = (ref.DIAGNOSES_ADULT, ref.DIAGNOSES_CHILD, ref.DIAGNOSES_NEWBORN,
             ref.DIAGNOSES_PREGNANCY)
ACT_GROUPS = (ref.ACTS_ADULT, ref.ACTS_CHILD, ref.ACTS_CHILD, ref.ACTS_PREGNANCY)
DX_CODES = pa.array(sorted({c for g in DX_GROUPS for c, _, _ in g}), pa.string())
ACT_CODES = pa.array(sorted({c for g in ACT_GROUPS for c, _ in g}), pa.string())


def _global(group: Sequence[tuple[Any, ...]], dictionary: pa.Array) -> np.ndarray:
    codes = dictionary.to_pylist()
    return np.array([codes.index(row[0]) for row in group], dtype=np.int32)


def draw_stays(rng: np.random.Generator, t: Tables, p: People, first_id: int) -> pa.Table:
    years = len(ref.STUDY_YEARS)
    start = np.datetime64(f"{ref.STUDY_YEARS[0]}-01-01", "D")
    span = int((np.datetime64(f"{ref.STUDY_YEARS[-1] + 1}-01-01", "D") - start) / DAY)
    counts = rng.poisson(_step(p.ages, ref.STAY_RATES) * years)
    who = np.repeat(np.arange(len(counts)), counts)
    n = len(who)
    ages, female = p.ages[who], p.female[who]
    admission = start + rng.integers(0, span, size=n) * DAY
    admission = np.maximum(admission, p.birth[who])
    group = np.zeros(n, dtype=np.int8)  # 0 adult, 1 child, 2 newborn, 3 pregnancy
    group[ages < 15] = 1
    group[ages < 1] = 2
    group[female & (ages >= 15) & (ages < 45) & (rng.random(n) < ref.PREGNANCY_STAY_SHARE)] = 3
    dx = np.zeros(n, dtype=np.int32)
    act = np.zeros(n, dtype=np.int32)
    for g, (dx_table, act_table) in enumerate(zip(DX_GROUPS, ACT_GROUPS, strict=True)):
        mask = group == g
        local = np.zeros(n, dtype=np.int32)
        _pick(rng, dx_table, mask, local, 0)
        dx[mask] = _global(dx_table, DX_CODES)[local[mask]]
        _pick(rng, act_table, mask, local, 0)
        act[mask] = _global(act_table, ACT_CODES)[local[mask]]
    adult = _global(ref.DIAGNOSES_ADULT, DX_CODES)
    secondary = adult[rng.integers(0, len(adult), size=n)]
    has_secondary = (group == 0) & (rng.random(n) < 0.4)
    mean_los = 3.0 + ages / 20.0
    los = np.where(rng.random(n) < ref.AMBULATORY_SHARE, 0, rng.geometric(1.0 / mean_los))
    los = np.where(group >= 2, 2 + rng.poisson(2.0, size=n), los).astype(np.int16)
    dept = p.dept[who]
    local_est = t.est_start[dept] + (rng.random(n) * t.est_count[dept]).astype(np.int64)
    est = np.where(rng.random(n) < 0.9, local_est, rng.integers(0, len(t.est_dept), size=n))
    return pa.Table.from_arrays([
        pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        p.table.column("person_id").take(pa.array(who)).combine_chunks(),
        _dict(est, t.est_finess), pa.array(admission, pa.date32()),
        pa.array(admission + los.astype(np.int64) * DAY, pa.date32()), pa.array(los),
        _dict(dx, DX_CODES),
        pa.DictionaryArray.from_arrays(pa.array(secondary, mask=~has_secondary), DX_CODES),
        _dict(act, ACT_CODES)], schema=STAYS_SCHEMA)


ATC_CODES = pa.array([c for c, _ in ref.DRUGS], pa.string())


def draw_claims(rng: np.random.Generator, t: Tables, p: People, first_id: int) -> pa.Table:
    start = np.datetime64(f"{ref.STUDY_YEARS[-1]}-01-01", "D")
    span = int((np.datetime64(f"{ref.STUDY_YEARS[-1] + 1}-01-01", "D") - start) / DAY)
    counts = rng.poisson(_step(p.ages, ref.CLAIM_RATES))
    who = np.repeat(np.arange(len(counts)), counts)
    n = len(who)
    drug = rng.choice(len(ref.DRUGS), size=n, p=_weights([w for _, w in ref.DRUGS]))
    cip = drug * ref.PRESENTATIONS_PER_DRUG + rng.integers(0, ref.PRESENTATIONS_PER_DRUG, n)
    boxes = np.clip(1 + rng.poisson(0.3, size=n), 1, 6).astype(np.int8)
    dispensed = np.maximum(start + rng.integers(0, span, size=n) * DAY, p.birth[who])
    return pa.Table.from_arrays([
        pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        p.table.column("person_id").take(pa.array(who)).combine_chunks(),
        pa.array(dispensed, pa.date32()), _dict(drug, ATC_CODES), _dict(cip, t.cip13),
        pa.array(boxes), pa.array((t.cip_price[cip] * boxes).astype(np.float32))],
        schema=CLAIMS_SCHEMA)


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    # Dictionary pages only for the coded columns: trying them on ids, dates and amounts
    # costs a quarter of the write time for nothing.
    coded = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    return pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=coded)


def generate(out: Path, *, people: int, seed: int = 2026, chunk: int = 1_000_000,
             progress: Callable[[int], None] | None = None) -> SynthReport:
    """Write people/stays/claims Parquet files and a ``manifest.json`` into ``out``."""
    if people < 1:
        raise ValueError("people must be positive")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".synth-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        tables = build_tables(seed)
        writers = {name: _writer(tmp / f"{name}.parquet", schema)
                   for name, schema in zip(FILES, (PEOPLE_SCHEMA, STAYS_SCHEMA, CLAIMS_SCHEMA),
                                           strict=True)}
        counts = dict.fromkeys(FILES, 0)
        try:
            for index, first in enumerate(range(0, people, chunk)):
                n = min(chunk, people - first)
                rng = np.random.default_rng([seed, index])
                ppl = draw_people(rng, tables, first + 1, n)
                for name, table in (("people", ppl.table),
                                    ("stays", draw_stays(rng, tables, ppl, counts["stays"] + 1)),
                                    ("claims", draw_claims(rng, tables, ppl,
                                                           counts["claims"] + 1))):
                    writers[name].write_table(table)
                    counts[name] += table.num_rows
                if progress:
                    progress(n)
        finally:
            for w in writers.values():
                w.close()
        report = SynthReport(people=counts["people"], stays=counts["stays"],
                             claims=counts["claims"], seed=seed,
                             seconds=round(time.perf_counter() - started, 3),
                             period_start=f"{ref.STUDY_YEARS[0]}-01-01",
                             period_end=f"{ref.STUDY_YEARS[-1]}-12-31")
        (tmp / "manifest.json").write_text(json.dumps(asdict(report), indent=2))
        for name in (*[f"{f}.parquet" for f in FILES], "manifest.json"):
            (tmp / name).replace(out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report
