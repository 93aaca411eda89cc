"""Secure messaging: mailboxes, trust space, messages, deliveries, receipts, outbound queue

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-29 13:48:12.537096
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('msg_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('root_message_id', sa.String(length=250), nullable=False),
    sa.Column('patient_address', sa.String(length=254), nullable=False),
    sa.Column('closed_for_patient', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_threads')),
    sa.UniqueConstraint('root_message_id', name=op.f('uq_msg_threads_root_message_id'))
    )
    with op.batch_alter_table('msg_threads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_msg_threads_patient_address'), ['patient_address'], unique=False)

    op.create_table('msg_mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('rpps', sa.String(length=11), nullable=False),
    sa.Column('profession', sa.String(length=100), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('establishment', sa.String(length=200), nullable=False),
    sa.Column('town', sa.String(length=100), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_msg_mailboxes_owner_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_mailboxes')),
    sa.UniqueConstraint('address', name=op.f('uq_msg_mailboxes_address'))
    )
    with op.batch_alter_table('msg_mailboxes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_msg_mailboxes_finess'), ['finess'], unique=False)
        batch_op.create_index(batch_op.f('ix_msg_mailboxes_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_msg_mailboxes_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_msg_mailboxes_rpps'), ['rpps'], unique=False)

    op.create_table('msg_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('sender_kind', sa.String(length=16), nullable=False),
    sa.Column('raw_enc', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('mss_fin', sa.Boolean(), nullable=False),
    sa.Column('mss_ins', sa.String(length=1), nullable=False),
    sa.Column('mss_codecda', sa.String(length=40), nullable=False),
    sa.Column('mss_nil', sa.String(length=40), nullable=False),
    sa.Column('wants_mdn', sa.Boolean(), nullable=False),
    sa.Column('report_kind', sa.String(length=10), nullable=False),
    sa.Column('received_via', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['msg_threads.id'], name=op.f('fk_msg_messages_thread_id_msg_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_messages'))
    )
    with op.batch_alter_table('msg_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_msg_messages_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_msg_messages_thread', ['thread_id', 'id'], unique=False)

    op.create_table('msg_operator_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=200), nullable=False),
    sa.Column('operator', sa.String(length=200), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_msg_operator_domains_added_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_operator_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_msg_operator_domains_domain'))
    )
    op.create_table('msg_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('folder', sa.String(length=10), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flagged_phishing', sa.Boolean(), nullable=False),
    sa.Column('safety', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['msg_mailboxes.id'], name=op.f('fk_msg_deliveries_mailbox_id_msg_mailboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_pk'], ['msg_messages.id'], name=op.f('fk_msg_deliveries_message_pk_msg_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_deliveries')),
    sa.UniqueConstraint('mailbox_id', 'folder', 'message_id', name=op.f('uq_msg_deliveries_mailbox_id'))
    )
    with op.batch_alter_table('msg_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_msg_deliveries_box', ['mailbox_id', 'folder', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_msg_deliveries_message_pk'), ['message_pk'], unique=False)

    op.create_table('msg_mailbox_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['msg_mailboxes.id'], name=op.f('fk_msg_mailbox_members_mailbox_id_msg_mailboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_msg_mailbox_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_mailbox_members')),
    sa.UniqueConstraint('mailbox_id', 'user_id', name=op.f('uq_msg_mailbox_members_mailbox_id'))
    )
    with op.batch_alter_table('msg_mailbox_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_msg_mailbox_members_mailbox_id'), ['mailbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_msg_mailbox_members_user_id'), ['user_id'], unique=False)

    op.create_table('msg_outbound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('domain', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_pk'], ['msg_messages.id'], name=op.f('fk_msg_outbound_message_pk_msg_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_outbound'))
    )
    with op.batch_alter_table('msg_outbound', schema=None) as batch_op:
        batch_op.create_index('ix_msg_outbound_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_msg_outbound_message_pk'), ['message_pk'], unique=False)

    op.create_table('msg_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_pk'], ['msg_messages.id'], name=op.f('fk_msg_receipts_message_pk_msg_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_receipts'))
    )
    with op.batch_alter_table('msg_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_msg_receipts_msg', ['message_pk'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('msg_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_msg_receipts_msg')

    op.drop_table('msg_receipts')
    with op.batch_alter_table('msg_outbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_msg_outbound_message_pk'))
        batch_op.drop_index('ix_msg_outbound_due')

    op.drop_table('msg_outbound')
    with op.batch_alter_table('msg_mailbox_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_msg_mailbox_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_msg_mailbox_members_mailbox_id'))

    op.drop_table('msg_mailbox_members')
    with op.batch_alter_table('msg_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_msg_deliveries_message_pk'))
        batch_op.drop_index('ix_msg_deliveries_box')

    op.drop_table('msg_deliveries')
    op.drop_table('msg_operator_domains')
    with op.batch_alter_table('msg_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_msg_messages_thread')
        batch_op.drop_index(batch_op.f('ix_msg_messages_message_id'))

    op.drop_table('msg_messages')
    with op.batch_alter_table('msg_mailboxes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_msg_mailboxes_rpps'))
        batch_op.drop_index(batch_op.f('ix_msg_mailboxes_owner_user_id'))
        batch_op.drop_index(batch_op.f('ix_msg_mailboxes_kind'))
        batch_op.drop_index(batch_op.f('ix_msg_mailboxes_finess'))

    op.drop_table('msg_mailboxes')
    with op.batch_alter_table('msg_threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_msg_threads_patient_address'))

    op.drop_table('msg_threads')
