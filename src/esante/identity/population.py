"""A synthetic population for the reference directory: French names (with their frequency
order), French communes of birth or foreign countries, NIRs with valid keys, twins, homonyms
born the same day, children on a parent's Carte Vitale, former matricules (a NIA replaced by
the NIR). Bulk inserts, so that ``esante demo`` stays fast."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from faker.providers.person.fr_FR import Provider as FrenchNames
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from esante.identity import cog, nir
from esante.identity.directory import OID_NIA, OID_NIR
from esante.identity.models import FormerMatricule, ReferencePerson
from esante.identity.traits import normalise_name

CHUNK = 10_000
TWIN_RATE = 0.015  # share of births that are twins (France: about 1.5 %)
HOMONYM_RATE = 0.003  # extra people with a homonym born the same day, elsewhere
ABROAD_RATE = 0.12
COMPOUND_RATE = 0.06
FORMER_NIA_RATE = 0.02
TODAY = date(2026, 1, 1)


def _weighted(names: tuple[str, ...]) -> tuple[list[str], list[float]]:
    """Names in frequency order, with Zipf-like cumulative weights."""
    clean = [normalise_name(n) for n in names]
    return clean, list(accumulate(1.0 / (rank + 8) for rank in range(len(clean))))


@dataclass
class _Pools:
    last: tuple[list[str], list[float]]
    male: tuple[list[str], list[float]]
    female: tuple[list[str], list[float]]
    communes: list[str]
    countries: list[str]


def _pools() -> _Pools:
    data = cog.load()
    communes = [c for c, (_n, kind) in data.communes.items() if kind == "actuelle"]
    countries = [c for c in data.countries if c != "99100"]
    return _Pools(_weighted(FrenchNames.last_names), _weighted(FrenchNames.first_names_male),
                  _weighted(FrenchNames.first_names_female), communes, countries)


class Generator:
    def __init__(self, seed: int, taken: set[str]) -> None:
        self.rng = random.Random(seed)
        self.pools = _pools()
        self.taken = taken

    def _pick(self, pool: tuple[list[str], list[float]]) -> str:
        return self.rng.choices(pool[0], cum_weights=pool[1])[0]

    def first_names(self, sex: str) -> list[str]:
        pool = self.pools.male if sex == "M" else self.pools.female
        count = self.rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
        names = [self._pick(pool) for _ in range(count)]
        if self.rng.random() < COMPOUND_RATE:
            names[0] = f"{names[0]}-{self._pick(pool)}"
        return list(dict.fromkeys(names))

    def matricule(self, sex: str, born: date, place: str, *, nia: bool = False) -> str:
        digit = ("7" if sex == "M" else "8") if nia else ("1" if sex == "M" else "2")
        while True:
            head = f"{digit}{born.year % 100:02d}{born.month:02d}{place}" \
                   f"{self.rng.randint(1, 999):03d}"
            value = head + nir.key_of(head)
            if value not in self.taken:
                self.taken.add(value)
                return value

    def place(self) -> str:
        if self.rng.random() < ABROAD_RATE:
            return self.rng.choice(self.pools.countries)
        return self.rng.choice(self.pools.communes)

    def person(self, **fixed: Any) -> dict[str, Any]:
        sex = fixed.get("sex") or self.rng.choice("MF")
        born = fixed.get("born") or date(1925, 1, 1) + timedelta(days=self.rng.randrange(36_890))
        place = fixed.get("place") or self.place()
        matricule = self.matricule(sex, born, place)
        adult = (TODAY - born).days >= 18 * 365
        holder = fixed.get("holder") or (matricule if adult else self.matricule(
            self.rng.choice("MF"), born - timedelta(days=365 * self.rng.randint(20, 40)),
            self.place()))
        return {"matricule": matricule, "oid": OID_NIR,
                "birth_name": fixed.get("birth_name") or self._pick(self.pools.last),
                "first_names": " ".join(fixed.get("first_names") or self.first_names(sex)),
                "sex": sex, "birth_date": born.isoformat(), "birth_place": place,
                "card_holder": holder}

    def family(self) -> list[dict[str, Any]]:
        """One person, or twins (same name, day, place and card), or a homonym pair."""
        first = self.person()
        roll = self.rng.random()
        if roll < TWIN_RATE:
            sex = self.rng.choice("MF")
            twin = self.person(sex=sex, born=date.fromisoformat(first["birth_date"]),
                               place=first["birth_place"], birth_name=first["birth_name"],
                               holder=first["card_holder"])
            if self.rng.random() < 0.2 and sex == first["sex"]:  # same first birth name
                twin["first_names"] = " ".join(
                    [first["first_names"].split(" ")[0], self.first_names(sex)[0]])
            return [first, twin]
        if roll < TWIN_RATE + HOMONYM_RATE:
            homonym = self.person(sex=first["sex"], born=date.fromisoformat(first["birth_date"]),
                                  birth_name=first["birth_name"],
                                  first_names=first["first_names"].split(" "))
            return [first, homonym]
        return [first]

    def people(self, count: int) -> Iterator[dict[str, Any]]:
        made = 0
        while made < count:
            for p in self.family()[:count - made]:
                made += 1
                yield p


def seed(session: Session, *, people: int, rng_seed: int | None = None,
         progress: Callable[[int], None] | None = None) -> int:
    """Add ``people`` synthetic persons to the directory (bulk inserts, chunks of 10,000).
    Returns how many were added. Former NIAs are added for a few of them."""
    taken = set(session.scalars(select(ReferencePerson.matricule)))
    gen = Generator(rng_seed if rng_seed is not None else len(taken) + 1, taken)
    batch: list[dict[str, Any]] = []
    done = 0
    for person in gen.people(people):
        batch.append(person)
        if len(batch) >= CHUNK:
            done += _flush(session, gen, batch)
            batch = []
            if progress:
                progress(done)
    if batch:
        done += _flush(session, gen, batch)
        if progress:
            progress(done)
    return done


def _flush(session: Session, gen: Generator, batch: list[dict[str, Any]]) -> int:
    session.execute(insert(ReferencePerson), batch)
    chosen = [p for p in batch if gen.rng.random() < FORMER_NIA_RATE]
    if chosen:
        rows = session.execute(select(ReferencePerson.matricule, ReferencePerson.id).where(
            ReferencePerson.matricule.in_([p["matricule"] for p in chosen])))
        ids: dict[str, int] = {row[0]: row[1] for row in rows}
        formers = [{"person_id": ids[p["matricule"]], "oid": OID_NIA,
                    "matricule": gen.matricule(p["sex"], date.fromisoformat(p["birth_date"]),
                                               p["birth_place"], nia=True),
                    "until": p["birth_date"][:4]} for p in chosen]
        session.execute(insert(FormerMatricule), formers)
    return len(batch)
