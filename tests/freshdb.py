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
from sqlalchemy.pool import NullPool

# Read once, at import: tests point ESANTE_DATABASE_URL elsewhere for the processes they run.
_SUITE_URL = os.environ.get("ESANTE_DATABASE_URL", "")


def suite_database_url() -> str:
    """The database the suite runs on: PostgreSQL when ESANTE_DATABASE_URL says so."""
    return _SUITE_URL


@contextmanager
def fresh_database_url(folder: Path, *, prefix: str = "esante_t", postgres: bool | None = None,
                       sqlite_name: str | None = None) -> Iterator[str]:
    base = suite_database_url()
    if postgres is None:
        postgres = base.startswith("postgresql")
    if not postgres:
        yield f"sqlite:///{folder / (sqlite_name or f'{prefix}-{secrets.token_hex(4)}.db')}"
        return
    name = f"{prefix}_{secrets.token_hex(5)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # WITH (FORCE): a killed server may leave a backend behind for a moment.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
