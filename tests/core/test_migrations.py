"""Migrations: ``upgrade head`` on an empty database builds exactly the models' schema,
``downgrade base`` removes it all, and upgrading again works."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from esante.core import migrate
from esante.core import models as _models  # noqa: F401 - registers every table
from esante.core.db import Base
from tests.freshdb import fresh_database_url


def test_upgrade_head_then_downgrade_base(tmp_path: Path) -> None:
    with fresh_database_url(tmp_path) as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine, "head")
            tables = set(inspect(engine).get_table_names())
            assert set(Base.metadata.tables) <= tables
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == [], f"the models differ from the migrations: {diff}"

            migrate.downgrade(engine, "base")
            left = set(inspect(engine).get_table_names()) - {"alembic_version"}
            assert left == set()
            assert migrate.current_revision(engine) is None

            migrate.upgrade(engine, "head")
            assert migrate.current_revision(engine) is not None
        finally:
            engine.dispose()
