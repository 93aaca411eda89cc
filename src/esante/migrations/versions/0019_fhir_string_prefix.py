"""FHIR string index: varchar_pattern_ops on PostgreSQL, so that prefix searches (name,
family, given, address...) use it whatever the database's collation

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 15:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the same index serves (its LIKE is not collation-bound this way)
    op.drop_index("ix_fhir_idx_string_lookup", table_name="fhir_idx_string")
    op.create_index("ix_fhir_idx_string_lookup", "fhir_idx_string",
                    ["resource_type", "param", "norm"],
                    postgresql_ops={"norm": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_fhir_idx_string_lookup", table_name="fhir_idx_string")
    op.create_index("ix_fhir_idx_string_lookup", "fhir_idx_string",
                    ["resource_type", "param", "norm"])
