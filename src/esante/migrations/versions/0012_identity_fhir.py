"""Local identities as FR Core Patients: the link to the FHIR store

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('identity_local') as batch:
        batch.add_column(sa.Column('patient_fid', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_identity_local_patient_fid', ['patient_fid'])


def downgrade() -> None:
    with op.batch_alter_table('identity_local') as batch:
        batch.drop_constraint('uq_identity_local_patient_fid', type_='unique')
        batch.drop_column('patient_fid')
