"""Identity duplicate detection: ``esante identity dedup`` against Splink 4 (DuckDB).

    nice python bench/identity_dedup.py --people 100000 --people 1000000

For each size: writes a synthetic French identity file with known truth (cached in
``--work``), runs each engine in its own process (wall time, and peak memory as the max
RSS of that process's children, from ``resource.getrusage(RUSAGE_CHILDREN)``), then scores
the clusters pairwise (pairs of records put together) against the truth.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
THRESHOLD = 0.9


def _measure(command: list[str]) -> None:
    """Run ``command`` as a child and print its wall time and peak memory (JSON)."""
    started = time.perf_counter()
    done = subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": wall, "peak_mib": usage.ru_maxrss / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime, "rc": done.returncode,
                      "stderr": done.stderr[-2000:]}))


def _isolated(command: list[str]) -> dict[str, float]:
    """``command`` measured in a fresh intermediate process, so that each run's peak
    memory is its own (RUSAGE_CHILDREN keeps the maximum over all children)."""
    out = subprocess.run([sys.executable, str(HERE), "_measure", "--", *command], check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{command[0]} a échoué : {result['stderr']}")
    return result


def _splink(source: Path, out: Path, threads: int) -> None:
    """Splink 4, DuckDB backend, configured for French identities as the field does it."""
    import duckdb
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from esante.identity.matching.internals.prepare import build_records, load_csv

    config: dict[str, str | bool | int | float | list[str]] = {"threads": threads} if threads else {}
    con = duckdb.connect(config=config)
    load_csv(con, source)
    build_records(con, term_frequencies=False)  # the same normalised names and phonetic keys
    con.execute("CREATE TABLE splink_input AS SELECT rid, bn, un, f1, fn, sex, dob, place, nir, nir13, "
                "bn_ph, f1_ph, y FROM rec")
    nir = cl.CustomComparison(output_column_name="nir", comparison_levels=[
        cll.NullLevel("nir13"), cll.ExactMatchLevel("nir"), cll.ExactMatchLevel("nir13"),
        cll.LevenshteinLevel("nir", 1), cll.ElseLevel()])
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rid",
        blocking_rules_to_generate_predictions=[
            block_on("nir13"), block_on("dob", "f1_ph"), block_on("dob", "bn_ph"),
            block_on("bn_ph", "f1_ph", "y"), block_on("bn_ph", "f1_ph", "place")],
        comparisons=[
            nir,
            cl.DateOfBirthComparison("dob", input_is_string=False),
            cl.NameComparison("bn").configure(term_frequency_adjustments=True),
            cl.NameComparison("f1").configure(term_frequency_adjustments=True),
            cl.ArrayIntersectAtSizes("fn_tokens", [2, 1]),
            cl.NameComparison("un"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("place").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    con.execute("CREATE OR REPLACE TABLE splink_input AS SELECT *, string_split(fn, ' ') AS fn_tokens "
                "FROM splink_input")
    linker = Linker("splink_input", settings, DuckDBAPI(connection=con))
    linker.training.estimate_probability_two_random_records_match([block_on("nir")], recall=0.5)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("bn_ph", "f1_ph"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    con.execute(f"COPY (SELECT rec.record_id, c.cluster_id FROM {clusters.physical_name} c "
                "JOIN rec USING (rid)) TO ? (HEADER)", [str(out)])


def _esante_command(source: Path, out: Path, threads: int) -> list[str]:
    esante = Path(sys.executable).with_name("esante")
    return [str(esante), "identity", "dedup", str(source), "--out", str(out),
            "--threshold", str(THRESHOLD), "--threads", str(threads)]


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bench(people: int, work: Path, threads: int, engines: list[str]) -> list[dict[str, object]]:
    from esante.identity.matching.synthetic import evaluate, write_file

    source, truth = work / f"identities_{people}.csv", work / f"identities_{people}_truth.csv"
    if not source.exists() or not truth.exists():
        print(f"Génération de {people} personnes…", file=sys.stderr)
        write_file(source, truth, people, seed=people)
    records = sum(1 for _ in source.open()) - 1
    rows = []
    for engine in engines:
        out = work / f"clusters_{engine}_{people}.csv"
        command = (_esante_command(source, out, threads) if engine == "esante" else
                   [sys.executable, str(HERE), "_splink", str(source), str(out), "--threads", str(threads)])
        print(f"{engine} sur {people} personnes ({records} fiches)…", file=sys.stderr)
        measured = _isolated(command)
        scores = evaluate(out, truth)
        rows.append({"engine": engine, "people": people, "records": records, "wall_s": measured["wall"],
                     "cpu_s": measured["cpu"], "peak_mib": measured["peak_mib"],
                     "precision": scores.precision, "recall": scores.recall, "f1": scores.f1,
                     "load": _load()})
    return rows


def _table(rows: list[dict[str, object]]) -> str:
    lines = [f"{'moteur':<8} {'personnes':>10} {'fiches':>9} {'précision':>9} {'rappel':>7} {'F1':>7} "
             f"{'1-F1':>7} {'temps s':>8} {'CPU s':>7} {'mémoire Mio':>11}  charge (uptime)"]
    for r in rows:
        lines.append(f"{r['engine']:<8} {r['people']:>10} {r['records']:>9} {r['precision']:>9.4f} "
                     f"{r['recall']:>7.4f} {r['f1']:>7.4f} {1 - r['f1']:>7.4f} {r['wall_s']:>8.1f} "  # type: ignore[operator]
                     f"{r['cpu_s']:>7.1f} {r['peak_mib']:>11.0f}  {r['load']}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        _measure(sys.argv[3:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_splink":
        threads = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        _splink(Path(sys.argv[2]), Path(sys.argv[3]), threads)
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, action="append", help="taille(s) : 100000, 1000000")
    parser.add_argument("--work", type=Path, default=Path("var/bench-identity"))
    parser.add_argument("--threads", type=int, default=0, help="fils par moteur (0 : tous les cœurs)")
    parser.add_argument("--engines", default="esante,splink")
    parser.add_argument("--json", type=Path, help="écrire aussi les résultats en JSON")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for people in args.people or [100_000]:
        rows += bench(people, args.work, args.threads, args.engines.split(","))
        print(_table(rows), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
