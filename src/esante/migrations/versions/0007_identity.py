"""INS and identity vigilance: reference directory, local identities, RNIV statuses

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

The chain of this session's domains is laid out in advance so that they can be built side by
side; each domain's tables are written into its own revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('identity_reference_persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matricule', sa.String(length=15), nullable=False),
    sa.Column('oid', sa.String(length=40), nullable=False),
    sa.Column('birth_name', sa.String(length=100), nullable=False),
    sa.Column('first_names', sa.String(length=200), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.String(length=10), nullable=False),
    sa.Column('birth_place', sa.String(length=5), nullable=False),
    sa.Column('card_holder', sa.String(length=15), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_reference_persons')),
    sa.UniqueConstraint('matricule', name=op.f('uq_identity_reference_persons_matricule'))
    )
    with op.batch_alter_table('identity_reference_persons', schema=None) as batch_op:
        batch_op.create_index('ix_identity_ref_card', ['card_holder', 'birth_date'], unique=False)
        batch_op.create_index('ix_identity_ref_traits', ['birth_date', 'sex', 'birth_name'], unique=False)

    op.create_table('identity_former_matricules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('matricule', sa.String(length=15), nullable=False),
    sa.Column('oid', sa.String(length=40), nullable=False),
    sa.Column('until', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['identity_reference_persons.id'], name=op.f('fk_identity_former_matricules_person_id_identity_reference_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_former_matricules'))
    )
    with op.batch_alter_table('identity_former_matricules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_former_matricules_matricule'), ['matricule'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_former_matricules_person_id'), ['person_id'], unique=False)

    op.create_table('identity_local',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('local_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=5), nullable=False),
    sa.Column('status_reason', sa.String(length=300), nullable=False),
    sa.Column('attribute', sa.String(length=4), nullable=False),
    sa.Column('traits_enc', sa.LargeBinary(), nullable=False),
    sa.Column('birth_date', sa.String(length=10), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('name_key', sa.String(length=4), nullable=False),
    sa.Column('first_key', sa.String(length=4), nullable=False),
    sa.Column('nir_hash', sa.String(length=64), nullable=False),
    sa.Column('reference_person_id', sa.Integer(), nullable=True),
    sa.Column('document_type', sa.String(length=30), nullable=False),
    sa.Column('document_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('directory_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collection_method', sa.String(length=20), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_identity_local_created_by_users')),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishments.id'], name=op.f('fk_identity_local_establishment_id_establishments')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['identity_local.id'], name=op.f('fk_identity_local_merged_into_id_identity_local')),
    sa.ForeignKeyConstraint(['reference_person_id'], ['identity_reference_persons.id'], name=op.f('fk_identity_local_reference_person_id_identity_reference_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_local'))
    )
    with op.batch_alter_table('identity_local', schema=None) as batch_op:
        batch_op.create_index('ix_identity_local_block_date', ['finess', 'birth_date'], unique=False)
        batch_op.create_index('ix_identity_local_block_names', ['finess', 'name_key', 'first_key', 'birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_local_establishment_id'), ['establishment_id'], unique=False)
        batch_op.create_index('ix_identity_local_nir', ['finess', 'nir_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_local_reference_person_id'), ['reference_person_id'], unique=False)

    op.create_table('identity_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=5), nullable=False),
    sa.Column('to_status', sa.String(length=5), nullable=False),
    sa.Column('how', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_identity_events_actor_id_users')),
    sa.ForeignKeyConstraint(['identity_id'], ['identity_local.id'], name=op.f('fk_identity_events_identity_id_identity_local')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_events'))
    )
    with op.batch_alter_table('identity_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_events_identity_id'), ['identity_id'], unique=False)

    op.create_table('identity_vigilance_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('surviving_id', sa.Integer(), nullable=True),
    sa.Column('linked', sa.Boolean(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_identity_vigilance_pairs_decided_by_users')),
    sa.ForeignKeyConstraint(['first_id'], ['identity_local.id'], name=op.f('fk_identity_vigilance_pairs_first_id_identity_local')),
    sa.ForeignKeyConstraint(['second_id'], ['identity_local.id'], name=op.f('fk_identity_vigilance_pairs_second_id_identity_local')),
    sa.ForeignKeyConstraint(['surviving_id'], ['identity_local.id'], name=op.f('fk_identity_vigilance_pairs_surviving_id_identity_local')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_vigilance_pairs'))
    )
    with op.batch_alter_table('identity_vigilance_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_identity_pairs_queue', ['finess', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_vigilance_pairs_first_id'), ['first_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_vigilance_pairs_second_id'), ['second_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('identity_vigilance_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_vigilance_pairs_second_id'))
        batch_op.drop_index(batch_op.f('ix_identity_vigilance_pairs_first_id'))
        batch_op.drop_index('ix_identity_pairs_queue')

    op.drop_table('identity_vigilance_pairs')
    with op.batch_alter_table('identity_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_events_identity_id'))

    op.drop_table('identity_events')
    with op.batch_alter_table('identity_local', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_local_reference_person_id'))
        batch_op.drop_index('ix_identity_local_nir')
        batch_op.drop_index(batch_op.f('ix_identity_local_establishment_id'))
        batch_op.drop_index('ix_identity_local_block_names')
        batch_op.drop_index('ix_identity_local_block_date')

    op.drop_table('identity_local')
    with op.batch_alter_table('identity_former_matricules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_former_matricules_person_id'))
        batch_op.drop_index(batch_op.f('ix_identity_former_matricules_matricule'))

    op.drop_table('identity_former_matricules')
    with op.batch_alter_table('identity_reference_persons', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_ref_traits')
        batch_op.drop_index('ix_identity_ref_card')

    op.drop_table('identity_reference_persons')
