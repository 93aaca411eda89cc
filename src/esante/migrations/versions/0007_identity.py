"""INS and identity vigilance: reference directory, local identities, RNIV statuses

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

The chain of this session's domains is laid out in advance so that they can be built side by
side; each domain's tables are written into its own revision.
"""

from collections.abc import Sequence

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
