"""Threat watch benchmarks of issue 6, both in one run:

(1) ``threatwatch_logs.py`` — 1,000,000 log lines against 100,000 shared indicators, beside
    ``grep -F -f`` on the same data (target: at least half of grep's rate);
(2) ``threatwatch_advisories.py`` — 10,000 advisories against 3,089 inventories of 300
    products each (target: under 30 seconds), beside the naive nested loop.

    python bench/threatwatch.py                     # both, full scale
    python bench/threatwatch.py --small             # both, a tenth of the scale

Each part runs in its own process and prints its own table; see their docstrings for the
options they take (run them directly to pass any).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="a tenth of the scale, for a quick look")
    args = ap.parse_args()
    logs = ["--lines", "100000", "--indicators", "10000"] if args.small else []
    advisories = ["--advisories", "1000", "--establishments", "309"] if args.small else []
    failed = 0
    for script, extra in (("threatwatch_logs.py", logs),
                          ("threatwatch_advisories.py", advisories)):
        print(f"== {script} {' '.join(extra)}".rstrip(), flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / script), *extra],  # noqa: S603
                                 check=False).returncode
    sys.exit(failed)


if __name__ == "__main__":
    main()
