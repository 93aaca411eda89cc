"""Synthetic national data: how fast ``esante datahub synth`` writes people, stays and
claims, next to a row-by-row peer (Faker ``fr_FR``, whose ``ssn()`` also gives a NIR with a
valid key) writing the people table only.

    python bench/datahub_synth.py --people 10000000 --peer-people 100000

Prints people/s and rows/s of both, the ratio on the people table, the files' sizes and the
load average (the machine is shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from esante.datahub.synth.generate import generate


def faker_people(out: Path, n: int) -> float:
    from faker import Faker

    fake = Faker("fr_FR")
    Faker.seed(2026)
    started = time.perf_counter()
    rows: dict[str, list[object]] = {k: [] for k in ("person_id", "nir", "sex", "birth_date",
                                                     "postcode")}
    for i in range(n):
        sex = "F" if fake.pybool() else "M"
        rows["person_id"].append(i + 1)
        rows["nir"].append(fake.ssn())
        rows["sex"].append(sex)
        rows["birth_date"].append(fake.date_of_birth(maximum_age=100))
        rows["postcode"].append(fake.postcode())
    pq.write_table(pa.table(rows), out / "faker_people.parquet", compression="zstd")
    return time.perf_counter() - started


def size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:,.0f} Mo".replace(",", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--peer-people", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("var/bench-datahub-synth"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    print(f"load average before: {os.getloadavg()}")
    report = generate(args.work / "synth", people=args.people, chunk=args.chunk)
    load_after = os.getloadavg()
    peer = faker_people(args.work, args.peer_people)
    rows = report.people + report.stays + report.claims
    ours = report.people / report.seconds
    theirs = args.peer_people / peer
    print(f"esante synth : {report.people:,} personnes, {report.stays:,} séjours, "
          f"{report.claims:,} délivrances en {report.seconds:.1f} s")
    print(f"  {ours:,.0f} personnes/s (avec leurs séjours et délivrances), "
          f"{rows / report.seconds:,.0f} lignes/s")
    for name in ("people", "stays", "claims"):
        print(f"  {name}.parquet : {size(args.work / 'synth' / f'{name}.parquet')}")
    print(f"Faker fr_FR (ligne à ligne, personnes seules) : {args.peer_people:,} personnes "
          f"en {peer:.1f} s, {theirs:,.0f} personnes/s")
    print(f"rapport (personnes/s, esante avec séjours et délivrances / Faker personnes "
          f"seules) : {ours / theirs:,.0f}×")
    print(f"load average after esante synth: {load_after}; at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
