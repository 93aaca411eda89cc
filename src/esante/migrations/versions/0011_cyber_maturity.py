"""Cyber maturity self-assessment, awareness campaigns

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

The chain of this session's domains is laid out in advance so that they can be built side by
side; each domain's tables are written into its own revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cyber_awareness_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_cyber_awareness_campaigns_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_awareness_campaigns'))
    )
    op.create_table('cyber_awareness_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('quiz', sa.JSON(), nullable=False),
    sa.Column('pass_mark', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['cyber_awareness_campaigns.id'], name=op.f('fk_cyber_awareness_modules_campaign_id_cyber_awareness_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_awareness_modules'))
    )
    with op.batch_alter_table('cyber_awareness_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_awareness_modules_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('cyber_awareness_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('region_code', sa.String(length=2), nullable=False),
    sa.Column('staff_count', sa.Integer(), nullable=False),
    sa.Column('enrolled_by', sa.Integer(), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['cyber_awareness_campaigns.id'], name=op.f('fk_cyber_awareness_enrolments_campaign_id_cyber_awareness_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolled_by'], ['users.id'], name=op.f('fk_cyber_awareness_enrolments_enrolled_by_users')),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishments.id'], name=op.f('fk_cyber_awareness_enrolments_establishment_id_establishments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_awareness_enrolments')),
    sa.UniqueConstraint('campaign_id', 'establishment_id', name=op.f('uq_cyber_awareness_enrolments_campaign_id'))
    )
    with op.batch_alter_table('cyber_awareness_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_awareness_enrolments_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_awareness_enrolments_establishment_id'), ['establishment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_awareness_enrolments_finess'), ['finess'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_awareness_enrolments_region_code'), ['region_code'], unique=False)

    op.create_table('cyber_maturity_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('region_code', sa.String(length=2), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('overall_score', sa.Double(), nullable=True),
    sa.Column('chapter_scores', sa.JSON(), nullable=False),
    sa.Column('security_budget_share', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_cyber_maturity_assessments_created_by_users')),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishments.id'], name=op.f('fk_cyber_maturity_assessments_establishment_id_establishments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_maturity_assessments'))
    )
    with op.batch_alter_table('cyber_maturity_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_maturity_assessments_assessed_at'), ['assessed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_maturity_assessments_establishment_id'), ['establishment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_maturity_assessments_finess'), ['finess'], unique=False)
        batch_op.create_index('ix_cyber_maturity_peers', ['category', 'region_code', 'finess'], unique=False)

    op.create_table('cyber_awareness_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('quiz_taken', sa.Integer(), nullable=False),
    sa.Column('quiz_passed', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['cyber_awareness_enrolments.id'], name=op.f('fk_cyber_awareness_results_enrolment_id_cyber_awareness_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['cyber_awareness_modules.id'], name=op.f('fk_cyber_awareness_results_module_id_cyber_awareness_modules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_cyber_awareness_results_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_awareness_results'))
    )
    with op.batch_alter_table('cyber_awareness_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_awareness_results_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_awareness_results_module_id'), ['module_id'], unique=False)

    op.create_table('cyber_awareness_simulations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('region_code', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('clicked', sa.Integer(), nullable=False),
    sa.Column('reported', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_cyber_awareness_simulations_created_by_users')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['cyber_awareness_enrolments.id'], name=op.f('fk_cyber_awareness_simulations_enrolment_id_cyber_awareness_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_awareness_simulations'))
    )
    with op.batch_alter_table('cyber_awareness_simulations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_awareness_simulations_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cyber_awareness_simulations_finess'), ['finess'], unique=False)

    op.create_table('cyber_maturity_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=8), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['cyber_maturity_assessments.id'], name=op.f('fk_cyber_maturity_answers_assessment_id_cyber_maturity_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_maturity_answers')),
    sa.UniqueConstraint('assessment_id', 'item_code', name=op.f('uq_cyber_maturity_answers_assessment_id'))
    )
    with op.batch_alter_table('cyber_maturity_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_maturity_answers_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('cyber_awareness_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('simulation_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('mail_id', sa.Integer(), nullable=True),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mail_id'], ['mail_outbox.id'], name=op.f('fk_cyber_awareness_recipients_mail_id_mail_outbox'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['simulation_id'], ['cyber_awareness_simulations.id'], name=op.f('fk_cyber_awareness_recipients_simulation_id_cyber_awareness_simulations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cyber_awareness_recipients')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_cyber_awareness_recipients_token_hash'))
    )
    with op.batch_alter_table('cyber_awareness_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cyber_awareness_recipients_simulation_id'), ['simulation_id'], unique=False)


def downgrade() -> None:
    op.drop_table('cyber_awareness_recipients')
    op.drop_table('cyber_maturity_answers')
    op.drop_table('cyber_awareness_simulations')
    op.drop_table('cyber_awareness_results')
    op.drop_table('cyber_maturity_assessments')
    op.drop_table('cyber_awareness_enrolments')
    op.drop_table('cyber_awareness_modules')
    op.drop_table('cyber_awareness_campaigns')
