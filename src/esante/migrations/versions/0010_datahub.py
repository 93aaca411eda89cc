"""Health data hub: catalogue, projects, reviews, opt-outs, extracts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

The chain of this session's domains is laid out in advance so that they can be built side by
side; each domain's tables are written into its own revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('datahub_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('person_id_column', sa.String(length=60), nullable=False),
    sa.Column('registered_by', sa.String(length=200), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_datasets')),
    sa.UniqueConstraint('slug', name=op.f('uq_datahub_datasets_slug'))
    )
    op.create_table('datahub_dataset_columns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('data_type', sa.String(length=40), nullable=False),
    sa.Column('meaning', sa.String(length=500), nullable=False),
    sa.Column('sensitivity', sa.String(length=20), nullable=False),
    sa.Column('hierarchy', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datahub_datasets.id'], name=op.f('fk_datahub_dataset_columns_dataset_id_datahub_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_dataset_columns')),
    sa.UniqueConstraint('dataset_id', 'name', name=op.f('uq_datahub_dataset_columns_dataset_id'))
    )
    with op.batch_alter_table('datahub_dataset_columns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datahub_dataset_columns_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('datahub_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_datahub_opt_outs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_opt_outs')),
    sa.UniqueConstraint('digest', 'user_id', name=op.f('uq_datahub_opt_outs_digest'))
    )
    with op.batch_alter_table('datahub_opt_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datahub_opt_outs_digest'), ['digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_datahub_opt_outs_user_id'), ['user_id'], unique=False)

    op.create_table('datahub_projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=30), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('team', sa.JSON(), nullable=False),
    sa.Column('methodology', sa.String(length=20), nullable=False),
    sa.Column('methodology_details', sa.Text(), nullable=False),
    sa.Column('conformity_commitment', sa.Boolean(), nullable=False),
    sa.Column('linkage', sa.Boolean(), nullable=False),
    sa.Column('linkage_justification', sa.Text(), nullable=False),
    sa.Column('duration_months', sa.Integer(), nullable=False),
    sa.Column('expected_outputs', sa.Text(), nullable=False),
    sa.Column('requested_k', sa.Integer(), nullable=False),
    sa.Column('requested_l', sa.Integer(), nullable=True),
    sa.Column('l_column', sa.String(length=130), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opinion', sa.String(length=40), nullable=True),
    sa.Column('opinion_reasons', sa.Text(), nullable=False),
    sa.Column('opinion_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_k', sa.Integer(), nullable=True),
    sa.Column('approved_l', sa.Integer(), nullable=True),
    sa.Column('approved_l_column', sa.String(length=130), nullable=True),
    sa.Column('suppression_limit', sa.Double(), nullable=True),
    sa.Column('results', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_datahub_projects_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_projects')),
    sa.UniqueConstraint('reference', name=op.f('uq_datahub_projects_reference'))
    )
    with op.batch_alter_table('datahub_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datahub_projects_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_datahub_projects_status', ['status'], unique=False)

    op.create_table('datahub_project_columns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('column_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['column_id'], ['datahub_dataset_columns.id'], name=op.f('fk_datahub_project_columns_column_id_datahub_dataset_columns')),
    sa.ForeignKeyConstraint(['project_id'], ['datahub_projects.id'], name=op.f('fk_datahub_project_columns_project_id_datahub_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_project_columns')),
    sa.UniqueConstraint('project_id', 'column_id', name=op.f('uq_datahub_project_columns_project_id'))
    )
    with op.batch_alter_table('datahub_project_columns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datahub_project_columns_column_id'), ['column_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datahub_project_columns_project_id'), ['project_id'], unique=False)

    op.create_table('datahub_project_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_datahub_project_events_actor_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['datahub_projects.id'], name=op.f('fk_datahub_project_events_project_id_datahub_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_project_events'))
    )
    with op.batch_alter_table('datahub_project_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datahub_project_events_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('datahub_project_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datahub_project_events_project_id'))

    op.drop_table('datahub_project_events')
    with op.batch_alter_table('datahub_project_columns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datahub_project_columns_project_id'))
        batch_op.drop_index(batch_op.f('ix_datahub_project_columns_column_id'))

    op.drop_table('datahub_project_columns')
    with op.batch_alter_table('datahub_projects', schema=None) as batch_op:
        batch_op.drop_index('ix_datahub_projects_status')
        batch_op.drop_index(batch_op.f('ix_datahub_projects_owner_id'))

    op.drop_table('datahub_projects')
    with op.batch_alter_table('datahub_opt_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datahub_opt_outs_user_id'))
        batch_op.drop_index(batch_op.f('ix_datahub_opt_outs_digest'))

    op.drop_table('datahub_opt_outs')
    with op.batch_alter_table('datahub_dataset_columns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datahub_dataset_columns_dataset_id'))

    op.drop_table('datahub_dataset_columns')
    op.drop_table('datahub_datasets')
