"""A fresh, empty database of the kind the suite runs on, for tests that need their own
(migrations, CLI, backups, server processes): a new SQLite file, or a new PostgreSQL
database on the server of ``ESANTE_DATABASE_URL``, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def fresh_database_url(folder: Path) -> Iterator[str]:
    base = os.environ.get("ESANTE_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{folder / 'fresh.db'}"
        return
    name = f"esante_t_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
