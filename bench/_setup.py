"""What the benchmarks do first: a data folder, the platform's settings pointing at it and
at the database to measure, the source tree on the path; then, for those that seed their
own data, a fresh platform (migrated, with the demo's establishments and personas)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def configure(work: str, database_url: str, prefix: str) -> Path:
    """The data folder (``work`` or a new temporary one) and the database (``database_url``
    or a SQLite file in that folder), set in the environment before the platform loads."""
    folder = Path(work or tempfile.mkdtemp(prefix=f"esante-bench-{prefix}-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["ESANTE_DATA_DIR"] = str(folder)
    os.environ.setdefault("ESANTE_MODE", "development")
    os.environ["ESANTE_DATABASE_URL"] = database_url or f"sqlite:///{folder / 'bench.db'}"
    sys.path.insert(0, str(ROOT / "src"))
    return folder


def fresh_platform(*, personas: bool = True) -> dict[str, Any]:
    """Migrates an empty database (exits if it holds tables: a benchmark never writes into
    someone's data) and seeds the demo's 3,089 establishments and, unless told not to, its
    personas; returns the personas' users by key."""
    from sqlalchemy import inspect

    from esante.core import demo, migrate
    from esante.core.db import get_engine, transaction

    engine = get_engine()
    if inspect(engine).get_table_names():
        sys.exit("la base n'est pas vide : donnez une base neuve (--database-url) / "
                 "the database is not empty: give a fresh one")
    migrate.upgrade(engine)
    with transaction() as session:
        demo.seed_establishments(session)
        if not personas:
            return {}
        return {p.key: user for p, user, _ in demo.seed_personas(session)}
