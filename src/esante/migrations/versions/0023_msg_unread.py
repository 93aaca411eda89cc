"""Messaging: a message can be marked unread again (on the web, by the API, by a mail
client removing \\Seen); its read receipt is still sent once: when it was settled (sent by the platform, or left
to the mail client that showed it first) is kept on the copy.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("msg_deliveries") as batch:
        batch.add_column(sa.Column("mdn_settled_at", sa.DateTime(timezone=True), nullable=True))
    # Copies already read settled it when first opened.
    op.execute("UPDATE msg_deliveries SET mdn_settled_at = read_at WHERE read_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("msg_deliveries") as batch:
        batch.drop_column("mdn_settled_at")
