"""Log matching benchmark: 1,000,000 log lines against 100,000 shared indicators, beside
``grep -F -f`` on the same data (the physical limit of the task).

    python bench/threatwatch_logs.py                         # full scale
    python bench/threatwatch_logs.py --lines 100000 --indicators 10000
    python bench/threatwatch_logs.py --end-to-end            # + the real `esante cyber match`

1. generates, deterministically (seeded), ``--indicators`` indicators (40 % domains, 20 %
   IPv4, 15 % URLs, 10 % e-mail addresses, 15 % SHA-256) and ``--lines`` realistic log lines
   (web proxy in Squid's native format 50 %, firewall in iptables' kernel format 35 %,
   Postfix mail log 10 %, antivirus with SHA-256 5 %); about 1 line in 500 carries a shared
   indicator, the others carry look-alikes (other hosts, other addresses);
2. writes ``indicators.txt`` (one value a line) and ``logs.txt`` in ``--work``;
3. times ``LC_ALL=C grep -F -c -f indicators.txt logs.txt`` (best of ``--runs``);
4. times esante's matcher on the same files, both engines (Aho-Corasick with
   ``pyahocorasick``; one compiled regex + Python sets), best of ``--runs``, building the
   matcher excluded (timed apart), and checks that both find the same hits;
5. with ``--end-to-end``: seeds a fresh SQLite database with the indicators (one national
   TLP:GREEN event per 10,000) and times the real process ``esante cyber match --finess``
   (start-up, TLP-filtered load from the database, automaton, scan, printing);
6. prints lines/s of each, and esante's rate as a fraction of grep's (target ≥ 0.5);
   ``--profile`` prints the 15 heaviest functions of one aho run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
TLDS = ("com", "net", "org", "fr", "ru", "info", "xyz", "top", "io", "biz", "eu", "online")
WORDS = ("secure", "login", "update", "cdn", "mail", "portal", "cloud", "static", "api",
         "account", "verify", "sante", "factures", "billing", "office", "docs", "share", "track",
         "media", "auth", "pay", "hopital", "clinic", "service", "support", "files", "img")


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--indicators", type=int, default=100_000)
    ap.add_argument("--work", default="", help="data folder (default: a temporary one)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each (best kept)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--end-to-end", action="store_true", help="also time esante cyber match")
    ap.add_argument("--profile", action="store_true")
    return ap.parse_args()


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def label(self) -> str:
        r = self.r
        if r.random() < 0.6:
            return f"{r.choice(WORDS)}-{r.choice(WORDS)}{r.randint(1, 999)}"
        return "".join(r.choices(string.ascii_lowercase + string.digits, k=r.randint(5, 12)))

    def domain(self) -> str:
        sub = f"{self.r.choice(WORDS)}." if self.r.random() < 0.3 else ""
        return f"{sub}{self.label()}.{self.r.choice(TLDS)}"

    def ip(self) -> str:
        r = self.r
        return f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def url(self, host: str | None = None) -> str:
        r = self.r
        path = "/".join(r.choice(WORDS) for _ in range(r.randint(1, 3)))
        q = f"?id={r.randint(1, 99999)}" if r.random() < 0.4 else ""
        return f"http{'s' if r.random() < 0.3 else ''}://{host or self.domain()}/{path}{q}"

    def email(self) -> str:
        return f"{self.r.choice(WORDS)}.{self.r.randint(1, 999)}@{self.domain()}"

    def sha256(self) -> str:
        return f"{self.r.getrandbits(256):064x}"


def make_indicators(g: Gen, n: int) -> list[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    plan = (("domain", 0.40, g.domain), ("ip", 0.20, g.ip), ("url", 0.15, g.url),
            ("email", 0.10, g.email), ("sha256", 0.15, g.sha256))
    for kind, share, fn in plan:
        want = len(out) + int(n * share)
        while len(out) < want:
            out.add((kind, fn()))
    while len(out) < n:
        out.add(("domain", g.domain()))
    return sorted(out)


def log_line(g: Gen, i: int, planted: tuple[str, str] | None) -> str:
    r = g.r
    ts = 1_795_000_000 + i // 20
    client = f"10.{r.randint(0, 40)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    kind, value = planted or ("", "")
    pick = r.random()
    if kind == "sha256" or (not planted and pick >= 0.95):
        digest = value if kind == "sha256" else g.sha256()
        return (f"{ts}.{i % 1000:03d} clamd[2211]: scan host={client} file=/srv/partages/"
                f"{r.choice(WORDS)}_{r.randint(1, 9999)}.docx sha256={digest} result=OK")
    if kind in ("email", "") and (kind == "email" or pick >= 0.85):
        sender = value if kind == "email" else g.email()
        qid = "".join(r.choices("0123456789ABCDEF", k=10))
        return (f"Nov 24 08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d} mx1 postfix/qmgr[1234]: "
                f"{qid}: from=<{sender}>, size={r.randint(900, 90000)}, nrcpt=1 (queue active)")
    if kind == "ip" or (not planted and pick >= 0.5):
        dst = value if kind == "ip" else g.ip()
        return (f"Nov 24 08:14:{i % 60:02d} fw01 kernel: [UFW BLOCK] IN=eth0 OUT=eth1 "
                f"SRC={client} DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID={r.randint(1, 65535)} "
                f"DF PROTO=TCP SPT={r.randint(1024, 65535)} DPT={r.choice((80, 443, 445, 3389))} "
                f"WINDOW=64240 RES=0x00 SYN URGP=0")
    if kind == "url":
        target = value
    elif kind == "domain":
        target = g.url(value)
    else:
        target = g.url()
    method = "CONNECT" if target.startswith("https") else "GET"
    shown = target.split("/")[2] + ":443" if method == "CONNECT" else target
    return (f"{ts}.{i % 1000:03d} {r.randint(5, 9000):>6} {client} TCP_MISS/200 "
            f"{r.randint(300, 250000)} {method} {shown} - HIER_DIRECT/{g.ip()} text/html")


def generate(args: argparse.Namespace, work: Path) -> tuple[Path, Path, list[tuple[str, str]]]:
    g = Gen(args.seed)
    inds = make_indicators(g, args.indicators)
    ind_file, log_file = work / "indicators.txt", work / "logs.txt"
    ind_file.write_text("".join(f"{v}\n" for _, v in inds), encoding="utf-8")
    with log_file.open("w", encoding="utf-8") as fh:
        for i in range(args.lines):
            planted = g.r.choice(inds) if g.r.random() < 0.002 else None
            fh.write(log_line(g, i, planted) + "\n")
    return ind_file, log_file, inds


def best(fn, runs: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def time_grep(ind_file: Path, log_file: Path, runs: int) -> tuple[float, int]:
    def run() -> int:
        grep = shutil.which("grep") or "grep"
        done = subprocess.run([grep, "-F", "-c", "-f", str(ind_file), str(log_file)],  # noqa: S603
                              env={**os.environ, "LC_ALL": "C"}, capture_output=True,
                              text=True, check=False)
        return int(done.stdout.strip() or 0)

    secs, count = best(run, runs)
    return secs, int(count)  # type: ignore[call-overload]


def time_engines(args: argparse.Namespace, log_file: Path,
                 inds: list[tuple[str, str]]) -> dict[str, tuple[float, float, int]]:
    from esante.cyber.indicators import matcher
    from esante.cyber.indicators.service import Known

    known = [Known(i, k, v, i // 10_000 + 1, "Bench", "green") for i, (k, v) in enumerate(inds)]
    results: dict[str, tuple[float, float, int]] = {}
    hits_of: dict[str, set[tuple[int, int]]] = {}
    for engine in ("aho", "regex"):
        build, m = best(lambda e=engine: matcher.make(e, known), 1)
        secs, hits = best(lambda m=m: list(matcher.scan(log_file, m)), args.runs)
        hits_of[engine] = {(h.line, h.known.indicator_id) for h in hits}  # type: ignore[attr-defined]
        results[engine] = (build, secs, len({h.line for h in hits}))  # type: ignore[attr-defined]
        if args.profile and engine == "aho":
            prof = cProfile.Profile()
            prof.enable()
            list(matcher.scan(log_file, m))
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(15)
    if hits_of["aho"] != hits_of["regex"]:
        print(f"ATTENTION : les moteurs diffèrent ({len(hits_of['aho'] ^ hits_of['regex'])} "
              "touches)")
    return results


def end_to_end(work: Path, log_file: Path, inds: list[tuple[str, str]]) -> tuple[float, str]:
    """Seed a fresh SQLite database and time the real command."""
    url = f"sqlite:///{work / 'bench.db'}"
    env = {**os.environ, "ESANTE_MODE": "development", "ESANTE_DATABASE_URL": url,
           "ESANTE_DATA_DIR": str(work / "var")}
    os.environ.update(env)
    import uuid

    from sqlalchemy.orm import Session

    from esante.core import migrate
    from esante.core.audit import Actor
    from esante.core.db import make_engine
    from esante.core.orgs import service as orgs
    from esante.cyber.indicators.models import Indicator, IocEvent

    (work / "bench.db").unlink(missing_ok=True)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as s:
        orgs.ensure_regions(s)
        orgs.create_establishment(s, actor=Actor.system("bench"), finess="750000010",
                                  name="CHU Bench", category="CHU", department="75",
                                  town="Paris")
        for start in range(0, len(inds), 10_000):
            ev = IocEvent(uuid=str(uuid.uuid4()), title=f"Bench {start // 10_000 + 1}",
                          tlp="green", pap="amber", scope="national", source_label="bench")
            s.add(ev)
            s.flush()
            s.add_all(Indicator(event_id=ev.id, uuid=str(uuid.uuid4()), kind=k, value=v)
                      for k, v in inds[start:start + 10_000])
        s.commit()
    engine.dispose()
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "esante.cli", "cyber", "match",  # noqa: S603
                           str(log_file),
                           "--finess", "750000010"], env=env, capture_output=True, text=True,
                          check=False)
    secs = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return secs, done.stdout.strip().splitlines()[-1]


def main() -> None:
    args = parse()
    work = Path(args.work or tempfile.mkdtemp(prefix="esante-bench-logs-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    ind_file, log_file, inds = generate(args, work)
    size = log_file.stat().st_size / 1e6
    print(f"données : {args.lines:,} lignes ({size:.0f} Mo), {len(inds):,} indicateurs, "
          f"générées en {time.perf_counter() - t:.1f} s dans {work}")
    print(f"charge : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (load average 1/5/15 min)")
    if shutil.which("grep") is None:
        raise SystemExit("grep introuvable")
    g_secs, g_count = time_grep(ind_file, log_file, args.runs)
    g_rate = args.lines / g_secs
    print(f"grep -F -f        : {g_secs:6.2f} s  {g_rate:12,.0f} lignes/s  "
          f"({g_count:,} lignes touchées)")
    for engine, (build, secs, lines_hit) in time_engines(args, log_file, inds).items():
        rate = args.lines / secs
        print(f"esante {engine:<10} : {secs:6.2f} s  {rate:12,.0f} lignes/s  "
              f"({lines_hit:,} lignes touchées ; construction {build:.2f} s)  "
              f"ratio {rate / g_rate:.2f} de grep (objectif ≥ 0,5)")
    if args.end_to_end:
        secs, summary = end_to_end(work, log_file, inds)
        rate = args.lines / secs
        print(f"esante cyber match (processus complet, base SQLite) : {secs:6.2f} s  "
              f"{rate:12,.0f} lignes/s  ratio {rate / g_rate:.2f} — {summary}")
    print(f"charge : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
