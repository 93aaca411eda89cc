"""Cyber-vigilance dashboards benchmark: do they answer in under 300 ms at national scale?

    python bench/cyber_dashboards.py                       # SQLite in a fresh folder
    python bench/cyber_dashboards.py --database-url postgresql+psycopg://postgres@127.0.0.1/db

1. migrates a fresh database (refused if it already holds tables), seeds the demo's 3,089
   establishments and personas, then ≈10,000 incidents over 10 years with the demo history
   generator (``esante.cyber.demo.seed_incidents``: real categories' proportions, closed
   history, open recent incidents, some overdue reports);
2. times each dashboard endpoint through the real app (FastAPI TestClient: routing, token
   authentication, access policy, SQL, serialisation, middleware; no network): national
   (as an analyst), region 11 (as its regional officer), establishment A (as its security
   officer), each in JSON and CSV, ``--runs`` times after a warm-up;
3. prints p50, p95 and max per endpoint beside the 300 ms target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _setup import configure, fresh_platform

TARGET_MS = 300.0


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database-url", default="", help="empty database (default: SQLite file)")
    ap.add_argument("--work", default="", help="data folder (default: a temporary one)")
    ap.add_argument("--per-year", type=int, default=1000, help="mean incidents a year")
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--runs", type=int, default=50, help="timed requests per endpoint")
    return ap.parse_args()


def seed(args: argparse.Namespace) -> dict[str, str]:
    from sqlalchemy import func, select

    from esante.core.accounts import service as accounts
    from esante.core.audit import Actor
    from esante.core.db import get_engine, transaction
    from esante.cyber.demo import seed_incidents
    from esante.cyber.incidents.models import Incident

    t0 = time.perf_counter()
    people = fresh_platform()
    engine = get_engine()
    t1 = time.perf_counter()
    with transaction() as session:
        created = seed_incidents(session, years=args.years, per_year=args.per_year)
    t2 = time.perf_counter()
    tokens = {}
    with transaction() as session:
        for key in ("analyst", "ars", "rssi_a"):
            _, raw = accounts.create_token(session, actor=Actor.system("bench"),
                                           user=session.merge(people[key]), scopes=["read"])
            tokens[key] = raw
        total = session.scalar(select(func.count()).select_from(Incident))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"seeded: 3,089 establishments in {t1 - t0:.1f} s; {created} incidents "
          f"({total} in the table) in {t2 - t1:.1f} s")
    return tokens


def run(args: argparse.Namespace, tokens: dict[str, str]) -> list[tuple[str, list[float]]]:
    from fastapi.testclient import TestClient

    from esante.core.demo import anchor_finess
    from esante.core.settings import get_settings
    from esante.web.app import create_app

    finess_a = anchor_finess()[0]
    endpoints = [
        ("national", "analyst", "/api/cyber/dashboards/national"),
        ("region 11", "ars", "/api/cyber/dashboards/region/11"),
        ("establishment A", "rssi_a", f"/api/cyber/dashboards/establishment/{finess_a}"),
        ("region 84 (analyst)", "analyst", "/api/cyber/dashboards/region/84"),
    ]
    results = []
    with TestClient(create_app(get_settings()), base_url="https://testserver") as client:
        for name, who, url in endpoints:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            for fmt in ("json", "csv"):
                for _ in range(3):  # warm-up: imports, statement caches, connection pool
                    client.get(url, params={"format": fmt}, headers=headers)
                times = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    r = client.get(url, params={"format": fmt}, headers=headers)
                    times.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200:
                        sys.exit(f"{url} answered {r.status_code}: {r.text[:300]}")
                results.append((f"{name} {fmt}", times))
    return results


def report(results: list[tuple[str, list[float]]], url: str) -> None:
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n{engine}: dashboards through the app, ms (target {TARGET_MS:.0f} ms)")
    print(f"{'endpoint':<28}{'runs':>6}{'p50':>9}{'p95':>9}{'max':>9}  verdict")
    worst = 0.0
    for name, times in results:
        times = sorted(times)
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        verdict = "ok" if p95 < TARGET_MS else "OVER"
        print(f"{name:<28}{len(times):>6}{p50:>9.1f}{p95:>9.1f}{times[-1]:>9.1f}  {verdict}")
    print(f"worst p95: {worst:.1f} ms — {'under' if worst < TARGET_MS else 'OVER'} the target")


def main() -> None:
    args = parse()
    configure(args.work, args.database_url, "dash")
    tokens = seed(args)
    results = run(args, tokens)
    report(results, os.environ["ESANTE_DATABASE_URL"])


if __name__ == "__main__":
    main()
