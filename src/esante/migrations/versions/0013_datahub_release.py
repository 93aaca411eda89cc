"""Data hub: extract runs (with their risk reports), output checks before release, per-person
date shifting chosen at the decision

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('datahub_projects') as batch:
        batch.add_column(sa.Column('date_shift', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table('datahub_extracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('engine', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('requested_by_label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('out_dir', sa.String(length=1000), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['datahub_projects.id'], name=op.f('fk_datahub_extracts_project_id_datahub_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_datahub_extracts_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_extracts'))
    )
    op.create_index(op.f('ix_datahub_extracts_project_id'), 'datahub_extracts', ['project_id'], unique=False)
    op.create_table('datahub_output_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('submitted_by_label', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('original_enc', sa.Text(), nullable=False),
    sa.Column('checked_csv', sa.Text(), nullable=False),
    sa.Column('primary_cells', sa.Integer(), nullable=False),
    sa.Column('secondary_cells', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_label', sa.String(length=200), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['datahub_projects.id'], name=op.f('fk_datahub_output_checks_project_id_datahub_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_datahub_output_checks_reviewed_by_users')),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_datahub_output_checks_submitted_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datahub_output_checks'))
    )
    op.create_index(op.f('ix_datahub_output_checks_project_id'), 'datahub_output_checks', ['project_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_datahub_output_checks_project_id'), table_name='datahub_output_checks')
    op.drop_table('datahub_output_checks')
    op.drop_index(op.f('ix_datahub_extracts_project_id'), table_name='datahub_extracts')
    op.drop_table('datahub_extracts')
    with op.batch_alter_table('datahub_projects') as batch:
        batch.drop_column('date_shift')
