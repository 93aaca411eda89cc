"""Messaging: what mail clients do over IMAP comes back to the platform (sessions, the
UID of each copy in each IMAP folder, the pieces of Dovecot's event log already read, the
copies a client deleted); one sender's Message-ID stored once, enforced by the database (the
SMTP gateway runs in several processes)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("msg_messages") as batch:
        batch.create_unique_constraint("uq_msg_messages_sender_mid", ["sender", "message_id"])
    with op.batch_alter_table("msg_deliveries") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "msg_imap_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("mailbox_id", sa.Integer(),
                  sa.ForeignKey("msg_mailboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_msg_imap_sessions_mailbox_id", "msg_imap_sessions", ["mailbox_id"])
    op.create_table(
        "msg_imap_copies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mailbox_id", sa.Integer(),
                  sa.ForeignKey("msg_mailboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("folder", sa.String(200), nullable=False),
        sa.Column("uid", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(),
                  sa.ForeignKey("msg_deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("mailbox_id", "folder", "uid"),
    )
    op.create_index("ix_msg_imap_copies_delivery_id", "msg_imap_copies", ["delivery_id"])
    op.create_table(
        "msg_imap_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("msg_imap_logs")
    op.drop_index("ix_msg_imap_copies_delivery_id", table_name="msg_imap_copies")
    op.drop_table("msg_imap_copies")
    op.drop_index("ix_msg_imap_sessions_mailbox_id", table_name="msg_imap_sessions")
    op.drop_table("msg_imap_sessions")
    with op.batch_alter_table("msg_deliveries") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("msg_messages") as batch:
        batch.drop_constraint("uq_msg_messages_sender_mid", type_="unique")
