"""Maturity and governance benchmark: do the establishment's maturity summary (with the
peers' median), the region table and the governance page (and its PDF) answer in under
300 ms at national scale, and how far is the summary from the bare SQL it needs?

    python bench/cyber_maturity.py                       # SQLite in a fresh folder
    python bench/cyber_maturity.py --database-url postgresql+psycopg://postgres@127.0.0.1/db

1. migrates a fresh database (refused if it already holds tables), seeds the demo's 3,089
   establishments and personas, then ``--snapshots`` dated self-assessments for every
   establishment (48 answers each, the demo's answer generator) and the demo campaign;
2. times through the real app (FastAPI TestClient: routing, token or session
   authentication, access policy, SQL, serialisation; no network), ``--runs`` times after a
   warm-up: A's maturity summary as its security officer, region 11's table as its officer,
   A's governance JSON, A's governance page and board PDF as its director;
3. peer (the physical limit of the summary's data access): the same two reads done bare in
   SQL, no app — the establishment's snapshots, and the latest overall score of each
   same-category same-region peer (window function) — timed alike;
4. prints p50, p95, max per line beside the 300 ms target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

from _setup import configure, fresh_platform

TARGET_MS = 300.0


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database-url", default="", help="empty database (default: SQLite file)")
    ap.add_argument("--work", default="", help="data folder (default: a temporary one)")
    ap.add_argument("--snapshots", type=int, default=3, help="assessments per establishment")
    ap.add_argument("--runs", type=int, default=50, help="timed requests per line")
    return ap.parse_args()


def seed(args: argparse.Namespace) -> dict[str, str]:
    from datetime import timedelta

    from sqlalchemy import insert, select

    from esante.core.accounts import service as accounts
    from esante.core.audit import Actor
    from esante.core.db import get_engine, transaction, utcnow
    from esante.core.orgs.models import Establishment
    from esante.cyber.awareness.demo import seed_campaign
    from esante.cyber.maturity import scoring
    from esante.cyber.maturity.catalogue import catalogue
    from esante.cyber.maturity.demo import _answers
    from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment

    t0 = time.perf_counter()
    people = fresh_platform()
    engine = get_engine()
    t1 = time.perf_counter()
    rng, cat, now, made = random.Random(7), catalogue(), utcnow(), 0
    with transaction() as session:
        for est in session.scalars(select(Establishment)):
            level = rng.uniform(0.2, 0.8)
            rows = []
            for k in range(args.snapshots):
                answers = _answers(rng, level + 0.05 * k)
                s = scoring.score(cat, answers)
                a = MaturityAssessment(establishment_id=est.id, finess=est.finess,
                                       region_code=est.region_code, category=est.category,
                                       assessed_at=now - timedelta(days=300 * (args.snapshots - k)),
                                       overall_score=s.overall, chapter_scores=s.chapters)
                session.add(a)
                rows.append((a, answers))
            session.flush()
            session.execute(insert(MaturityAnswer), [
                {"assessment_id": a.id, "item_code": c, "answer": v, "evidence": ""}
                for a, answers in rows for c, v in answers.items()])
            made += len(rows)
        seed_campaign(session)
    t2 = time.perf_counter()
    tokens = {}
    with transaction() as session:
        for key in ("ars", "rssi_a", "director"):
            _, raw = accounts.create_token(session, actor=Actor.system("bench"),
                                           user=session.merge(people[key]), scopes=["read"])
            tokens[key] = raw
        ws, raw = accounts.new_web_session(session)
        ws.user_id, ws.stage = people["director"].id, "authenticated"
        tokens["director-page"] = raw
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"seeded: 3,089 establishments in {t1 - t0:.1f} s; {made} assessments "
          f"({made * len(cat.items)} answers) and the campaign in {t2 - t1:.1f} s")
    return tokens


def _time(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(3):  # warm-up: imports, statement caches, connection pool
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def run(args: argparse.Namespace, tokens: dict[str, str]) -> list[tuple[str, list[float]]]:
    from fastapi.testclient import TestClient

    from esante.core.demo import anchor_finess
    from esante.core.settings import get_settings
    from esante.web.app import create_app
    from esante.web.deps import SESSION_COOKIE

    a = anchor_finess()[0]
    results = []
    with TestClient(create_app(get_settings()), base_url="https://testserver") as client:
        def get(url: str, who: str) -> None:
            headers = {"Authorization": f"Bearer {tokens[who]}"} if who != "director-page" else {}
            cookies = {SESSION_COOKIE: tokens["director-page"]} if who == "director-page" else {}
            client.cookies.clear()
            for k, v in cookies.items():
                client.cookies.set(k, v)
            r = client.get(url, headers=headers)
            if r.status_code != 200:
                sys.exit(f"{url} answered {r.status_code}: {r.text[:300]}")

        for name, who, url in (
                ("maturity summary A (API)", "rssi_a", f"/api/cyber/maturity/{a}"),
                ("maturity region 11 (API)", "ars", "/api/cyber/maturity/region/11"),
                ("governance A (API)", "director", f"/api/cyber/governance/{a}"),
                ("governance A (page)", "director-page", f"/cyber/gouvernance/{a}"),
                ("governance A (PDF)", "director-page", f"/cyber/gouvernance/{a}/rapport.pdf")):
            results.append((name, _time(lambda u=url, w=who: get(u, w), args.runs)))
    results.append(("peer: bare SQL of the summary", _time(lambda: bare_sql(a), args.runs)))
    return results


def bare_sql(finess: str) -> None:
    """The summary's data, read with two plain statements (no app, no policy, no ORM)."""
    from sqlalchemy import text

    from esante.core.db import get_engine

    with get_engine().connect() as conn:
        est = conn.execute(text("SELECT id, category, region_code FROM establishments "
                                "WHERE finess = :f"), {"f": finess}).one()
        conn.execute(text("SELECT id, assessed_at, overall_score, chapter_scores FROM "
                          "cyber_maturity_assessments WHERE establishment_id = :e "
                          "ORDER BY assessed_at DESC"), {"e": est.id}).all()
        rows = conn.execute(text(
            "SELECT overall_score FROM (SELECT overall_score, row_number() OVER (PARTITION BY "
            "establishment_id ORDER BY assessed_at DESC) AS r FROM cyber_maturity_assessments "
            "WHERE category = :c AND region_code = :g AND establishment_id != :e) t "
            "WHERE r = 1"), {"c": est.category, "g": est.region_code, "e": est.id}).all()
        statistics.median([r[0] for r in rows] or [0])


def report(results: list[tuple[str, list[float]]], url: str) -> None:
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n{engine}: maturity and governance, ms (target {TARGET_MS:.0f} ms)")
    print(f"{'line':<34}{'runs':>6}{'p50':>9}{'p95':>9}{'max':>9}  verdict")
    for name, times in results:
        times = sorted(times)
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        verdict = "ok" if p95 < TARGET_MS else "OVER"
        print(f"{name:<34}{len(times):>6}{p50:>9.1f}{p95:>9.1f}{times[-1]:>9.1f}  {verdict}")
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")


def main() -> None:
    args = parse()
    configure(args.work, args.database_url, "maturity")
    tokens = seed(args)
    report(run(args, tokens), os.environ["ESANTE_DATABASE_URL"])


if __name__ == "__main__":
    main()
