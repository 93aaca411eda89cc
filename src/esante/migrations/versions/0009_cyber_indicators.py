"""Cyber indicator sharing under TLP and phishing reports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

The chain of this session's domains is laid out in advance so that they can be built side by
side; each domain's tables are written into its own revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cyber_phishing_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('region_code', sa.String(length=2), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('blob_id', sa.String(length=64), nullable=False),
    sa.Column('analysis_enc', sa.Text(), nullable=False),
    sa.Column('verdict', sa.String(length=12), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_cyber_phishing_reports_reporter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_phishing_reports'))
    )
    with op.batch_alter_table('cyber_phishing_reports', schema=None) as batch_op:
        batch_op.create_index('ix_cyber_phishing_reports_finess_at', ['finess', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_phishing_reports_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_phishing_reports_reporter_id'), ['reporter_id'], unique=False)

    op.create_table('cyber_ioc_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tlp', sa.String(length=12), nullable=False),
    sa.Column('pap', sa.String(length=6), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('scope_region', sa.String(length=2), nullable=True),
    sa.Column('scope_ght_id', sa.Integer(), nullable=True),
    sa.Column('scope_finess', sa.String(length=9), nullable=True),
    sa.Column('source_finess', sa.String(length=9), nullable=True),
    sa.Column('source_label', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phishing_report_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_cyber_ioc_events_created_by_users')),
    sa.ForeignKeyConstraint(['scope_ght_id'], ['ghts.id'], name=op.f('fk_cyber_ioc_events_scope_ght_id_ghts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_ioc_events')),
    sa.UniqueConstraint('uuid', name=op.f('uq_cyber_ioc_events_uuid'))
    )
    with op.batch_alter_table('cyber_ioc_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_ioc_events_phishing_report_id'), ['phishing_report_id'], unique=False)
        batch_op.create_index('ix_cyber_ioc_events_scope', ['scope', 'tlp'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_ioc_events_scope_finess'), ['scope_finess'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_ioc_events_scope_ght_id'), ['scope_ght_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_ioc_events_scope_region'), ['scope_region'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_ioc_events_source_finess'), ['source_finess'], unique=False)

    op.create_table('cyber_ioc_event_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['cyber_ioc_events.id'], name=op.f('fk_cyber_ioc_event_recipients_event_id_cyber_ioc_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_ioc_event_recipients')),
    sa.UniqueConstraint('event_id', 'finess', name=op.f('uq_cyber_ioc_event_recipients_event_id'))
    )
    with op.batch_alter_table('cyber_ioc_event_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_ioc_event_recipients_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_ioc_event_recipients_finess'), ['finess'], unique=False)

    op.create_table('cyber_ioc_indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=2048), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('to_ids', sa.Boolean(), nullable=False),
    sa.Column('warning', sa.String(length=100), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['cyber_ioc_events.id'], name=op.f('fk_cyber_ioc_indicators_event_id_cyber_ioc_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_ioc_indicators')),
    sa.UniqueConstraint('event_id', 'kind', 'value', name=op.f('uq_cyber_ioc_indicators_event_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_cyber_ioc_indicators_uuid'))
    )
    with op.batch_alter_table('cyber_ioc_indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_ioc_indicators_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_cyber_ioc_indicators_kind_value', ['kind', 'value'], unique=False)

    op.create_table('cyber_ioc_sightings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_cyber_ioc_sightings_created_by_users')),
    sa.ForeignKeyConstraint(['indicator_id'], ['cyber_ioc_indicators.id'], name=op.f('fk_cyber_ioc_sightings_indicator_id_cyber_ioc_indicators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_ioc_sightings'))
    )
    with op.batch_alter_table('cyber_ioc_sightings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_ioc_sightings_finess'), ['finess'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_ioc_sightings_indicator_id'), ['indicator_id'], unique=False)


def downgrade() -> None:
    for table in ('cyber_ioc_sightings', 'cyber_ioc_indicators', 'cyber_ioc_event_recipients',
                  'cyber_ioc_events', 'cyber_phishing_reports'):
        op.drop_table(table)
