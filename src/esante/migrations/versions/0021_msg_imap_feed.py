"""Messaging: which mailbox copies are still to be handed to the IMAP server (Dovecot);
the copies already in professional mailboxes are fed once IMAP starts

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("msg_deliveries") as batch:
        batch.add_column(sa.Column("imap_pending", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_index("ix_msg_deliveries_imap", "msg_deliveries", ["imap_pending", "id"])
    op.execute(sa.text(
        "UPDATE msg_deliveries SET imap_pending = :yes WHERE mailbox_id IN "
        "(SELECT id FROM msg_mailboxes WHERE kind <> 'citizen')").bindparams(yes=True))


def downgrade() -> None:
    op.drop_index("ix_msg_deliveries_imap", table_name="msg_deliveries")
    with op.batch_alter_table("msg_deliveries") as batch:
        batch.drop_column("imap_pending")
