"""Synthetic French identity files with known truth, for tests and the benchmark.

People: French (and the other origins of France's population) family and first names with
skewed frequencies, compound names, used names for half the women, birth places as INSEE
codes (departments, Corsica, overseas, born abroad 99xxx), NIRs with their key, families
(siblings share a family name and a birth place; twins also share the birth date and have
consecutive order numbers) and homonyms born the same day elsewhere.

Records: one per person, plus duplicates for some, typed with the errors of hospital
desks: typos, accents and case, hyphens, the used name typed as birth name, swapped or
missing first names, day/month swaps, wrong or missing birth places, a NIR in only half of
the records, wrong keys, a sibling's NIR.

Names come from Faker's locale lists (a development and benchmark dependency).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from dataclasses import dataclass
from pathlib import Path

from esante.identity.matching.internals.normalise import normalise_name
from esante.identity.matching.internals.prepare import COLUMNS

_SURNAME_LOCALES = ("fr_FR", "fr_CA", "fr_CH", "it_IT", "es_ES", "pt_PT", "ar_AA", "de_DE", "nl_NL")
_FIRST_NAME_LOCALES = ("fr_FR", "fr_CA", "fr_CH", "it_IT", "es_ES", "pt_PT", "ar_AA")
_ACCENTS = str.maketrans("ÉÈÊËÀÂÎÏÔÖÛÜÇéèêëàâîïôöûüç", "EEEEAAIIOOUUCeeeeaaiioouuc")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Person:
    sex: str
    birth_name: str
    used_name: str
    first_names: list[str]
    birth_date: dt.date
    birth_place: str
    nir: str
    sibling: int = -1


def nir_key(first13: str) -> str:
    """Key of a NIR (Corsica 2A/2B counted as 19/18)."""
    number = int(first13.replace("2A", "19").replace("2B", "18"))
    return f"{97 - number % 97:02d}"


def _pool(attribute: str, locales: tuple[str, ...]) -> list[str]:
    import importlib

    seen: dict[str, None] = {}
    for locale in locales:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for name in getattr(provider, attribute, ()):
            if len(normalise_name(name).replace(" ", "")) == len(re.sub(r"[ '-]", "", name)):
                seen.setdefault(name, None)
    return list(seen)


class _Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.surnames = _pool("last_names", _SURNAME_LOCALES)
        self.male = _pool("first_names_male", _FIRST_NAME_LOCALES)
        self.female = _pool("first_names_female", _FIRST_NAME_LOCALES)
        self.places = self._places()
        self.cum = {id(p): self._zipf(len(p)) for p in (self.surnames, self.male, self.female, self.places)}

    @staticmethod
    def _zipf(n: int) -> list[float]:
        weights = [1 / (rank + 8) for rank in range(n)]
        total, cum, acc = sum(weights), [], 0.0
        for w in weights:
            acc += w / total
            cum.append(acc)
        return cum

    def _places(self) -> list[str]:
        rng = random.Random(7)
        departments = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B", "971", "972", "974"]
        places = []
        for _ in range(4000):
            dep = rng.choice(departments)
            places.append(dep + f"{rng.randint(1, 999 if len(dep) == 2 else 99):0{5 - len(dep)}d}")
        places += [f"99{rng.randint(100, 450)}" for _ in range(200)]
        rng.shuffle(places)
        return places

    def pick(self, pool: list[str]) -> str:
        import bisect

        index = bisect.bisect_left(self.cum[id(pool)], self.rng.random())
        return pool[min(index, len(pool) - 1)]

    def surname(self) -> str:
        name = self.pick(self.surnames)
        if self.rng.random() < 0.08:
            name = f"{name}-{self.pick(self.surnames)}"
        return name

    def first_names(self, sex: str) -> list[str]:
        pool = self.male if sex == "1" else self.female
        names = [self.pick(pool) for _ in range(self.rng.choice((1, 1, 2, 2, 3)))]
        if self.rng.random() < 0.08:
            names[0] = f"{names[0]}-{self.pick(pool)}"
        return names


def _make_nir(sex: str, born: dt.date, place: str, order: int) -> str:
    first13 = f"{sex}{born:%y}{born:%m}{place}{order:03d}"
    return first13 + nir_key(first13)


def people(count: int, seed: int = 1) -> list[Person]:
    """``count`` people: about 10 % siblings, 2 % twins, 1 % homonyms born the same day."""
    rng = random.Random(seed)
    names = _Names(rng)
    start = dt.date(1930, 1, 1).toordinal()
    span = dt.date(2024, 12, 31).toordinal() - start
    result: list[Person] = []
    for i in range(count):
        sex = rng.choice("12")
        kind = rng.random()
        if i and kind < 0.10:  # sibling of an earlier person
            j = rng.randrange(len(result))
            other = result[j]
            born = dt.date.fromordinal(start + rng.randrange(span))
            person = Person(sex, other.birth_name, "", names.first_names(sex), born, other.birth_place, "",
                            sibling=j)
        elif i and kind < 0.12:  # twin
            j = rng.randrange(len(result))
            other = result[j]
            person = Person(sex, other.birth_name, "", names.first_names(sex), other.birth_date,
                            other.birth_place, "", sibling=j)
        elif i and kind < 0.13:  # homonym born the same day, elsewhere
            other = result[rng.randrange(len(result))]
            person = Person(other.sex, other.birth_name, "", list(other.first_names), other.birth_date,
                            names.pick(names.places), "")
            sex = other.sex
        else:
            person = Person(sex, names.surname(), "", names.first_names(sex),
                            dt.date.fromordinal(start + rng.randrange(span)), names.pick(names.places), "")
        if sex == "2" and person.birth_date.year < 2000 and rng.random() < 0.6:
            person.used_name = names.surname()
        order = rng.randint(1, 998)
        if person.sibling >= 0 and result[person.sibling].birth_date == person.birth_date:
            order = int(result[person.sibling].nir[10:13]) % 998 + 1
        person.nir = _make_nir(person.sex, person.birth_date, person.birth_place, order)
        result.append(person)
    return result


class _Typist:
    """The errors of a desk, each with its probability."""

    def __init__(self, rng: random.Random, names: list[Person]) -> None:
        self.rng = rng
        self.people = names

    def typo(self, text: str) -> str:
        if len(text) < 3:
            return text
        rng = self.rng
        i = rng.randrange(1, len(text))
        kind = rng.randrange(4)
        if kind == 0:
            return text[:i] + rng.choice(_LETTERS) + text[i + 1:]
        if kind == 1:
            return text[:i] + text[i + 1:]
        if kind == 2:
            return text[:i] + rng.choice(_LETTERS) + text[i:]
        return text[:i - 1] + text[i] + text[i - 1] + text[i + 1:] if i < len(text) else text

    def style(self, text: str) -> str:
        """Case, accents and hyphens as a desk types them."""
        rng = self.rng
        if rng.random() < 0.3:
            text = text.translate(_ACCENTS)
        if "-" in text and rng.random() < 0.3:
            text = text.replace("-", rng.choice((" ", "")))
        return text.upper() if rng.random() < 0.6 else text

    def record(self, index: int, person: Person, duplicate: bool) -> dict[str, str]:
        rng = self.rng
        rate = 1.0 if duplicate else 0.25
        birth_name, used_name = person.birth_name, person.used_name
        if used_name and rng.random() < 0.3 * rate:
            birth_name, used_name = used_name, ""  # the used name typed as birth name
        if rng.random() < 0.10 * rate:
            birth_name = self.typo(birth_name)
        first = list(person.first_names)
        roll = rng.random()
        if roll < 0.15 * rate:
            first = first[:1]
        elif roll < 0.20 * rate and len(first) > 1:
            first[0], first[1] = first[1], first[0]
        elif roll < 0.28 * rate:
            first[0] = self.typo(first[0])
        elif roll < 0.30 * rate:
            first = []
        born = person.birth_date
        roll = rng.random()
        if roll < 0.03 * rate and born.day <= 12 and born.day != born.month:
            born = born.replace(day=born.month, month=born.day)
        elif roll < 0.06 * rate:
            born = _date_typo(rng, born)
        place = person.birth_place
        roll = rng.random()
        if roll < 0.03 * rate:
            place = place[:-3] + f"{rng.randint(1, 999):03d}" if not place.startswith("99") else place
        elif roll < 0.05 * rate:
            place = self.people[rng.randrange(len(self.people))].birth_place
        elif roll < 0.15:
            place = ""
        nir = person.nir if rng.random() < 0.5 else ""
        if nir:
            roll = rng.random()
            if roll < 0.03 * rate:
                nir = nir[:13] + f"{(int(nir[13:]) + rng.randint(1, 96)) % 97 or 97:02d}"  # wrong key
            elif roll < 0.05 * rate and person.sibling >= 0:
                nir = self.people[person.sibling].nir
        sex = person.sex if rng.random() > 0.01 else ""
        return {"record_id": f"R{index:08d}", "birth_name": self.style(birth_name),
                "used_name": self.style(used_name), "first_names": self.style(" ".join(first)),
                "sex": {"1": "M", "2": "F", "": ""}[sex] if rng.random() < 0.5 else sex,
                "birth_date": born.isoformat() if rng.random() < 0.8 else f"{born:%d/%m/%Y}",
                "birth_place": place, "nir": nir}


def _date_typo(rng: random.Random, born: dt.date) -> dt.date:
    for _ in range(10):
        part = rng.randrange(3)
        try:
            if part == 0:
                return born.replace(day=rng.randint(1, 28))
            if part == 1:
                return born.replace(month=rng.randint(1, 12))
            return born.replace(year=born.year + rng.choice((-10, -1, 1, 10)))
        except ValueError:
            continue
    return born


def write_file(path: Path, truth: Path, count: int, seed: int = 1) -> int:
    """An identity file of ``count`` people (about 1.4 records each), and its truth
    (record_id, person). Returns the number of records."""
    rng = random.Random(seed + 1000)
    population = people(count, seed)
    typist = _Typist(rng, population)
    rows: list[tuple[dict[str, str], int]] = []
    for p, person in enumerate(population):
        rows.append((typist.record(0, person, duplicate=False), p))
        if rng.random() < 0.30:
            for _ in range(rng.choice((1, 1, 1, 1, 1, 1, 1, 2, 2, 3))):
                rows.append((typist.record(0, person, duplicate=True), p))
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as data, truth.open("w", newline="") as known:
        out = csv.DictWriter(data, fieldnames=COLUMNS)
        out.writeheader()
        known.write("record_id,person\n")
        for index, (row, person_index) in enumerate(rows):
            row["record_id"] = f"R{index:08d}"
            out.writerow(row)
            known.write(f"{row['record_id']},{person_index}\n")
    return len(rows)


@dataclass
class Scores:
    """Pairwise quality of a clustering: the pairs of records put together."""

    precision: float
    recall: float
    f1: float
    true_pairs: int
    found_pairs: int


def evaluate(clusters: Path, truth: Path) -> Scores:
    """Pairwise precision, recall and F1 of ``clusters`` (record_id, cluster_id) against
    ``truth`` (record_id, person)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT c.record_id, c.cluster_id::VARCHAR AS cluster, "
                    "k.person::VARCHAR AS person FROM read_csv(?, all_varchar = true) c "
                    "JOIN read_csv(?, all_varchar = true) k USING (record_id)", [str(clusters), str(truth)])
        pairs = "SELECT sum(n * (n - 1) / 2)::BIGINT FROM (SELECT count(*) AS n FROM t GROUP BY {})"
        found = con.execute(pairs.format("cluster")).fetchone()[0] or 0  # type: ignore[index]
        true = con.execute(pairs.format("person")).fetchone()[0] or 0  # type: ignore[index]
        both = con.execute(pairs.format("cluster, person")).fetchone()[0] or 0  # type: ignore[index]
    precision = both / found if found else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, int(true), int(found))
