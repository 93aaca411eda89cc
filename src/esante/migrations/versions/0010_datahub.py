"""Health data hub: catalogue, projects, reviews, opt-outs, extracts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

The chain of this session's domains is laid out in advance so that they can be built side by
side; each domain's tables are written into its own revision.
"""

from collections.abc import Sequence

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
