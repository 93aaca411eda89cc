"""Referenced apps: app files, reviews, grants, codes, tokens, signing keys, launches, doctrine

Revision ID: 0016
Revises: 0011
Create Date: 2026-11-29 14:30:22.898375
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('apps_doctrine_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('consultation_ends_on', sa.Date(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_doctrine_versions')),
    sa.UniqueConstraint('version', name=op.f('uq_apps_doctrine_versions_version'))
    )
    op.create_table('apps_pending_authorizations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_pending_authorizations'))
    )
    with op.batch_alter_table('apps_pending_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_pending_authorizations_expires_at'), ['expires_at'], unique=False)

    op.create_table('apps_signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_enc', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_apps_signing_keys'))
    )
    op.create_table('apps_apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('client_kind', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('publisher_name', sa.String(length=200), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('privacy_url', sa.String(length=300), nullable=False),
    sa.Column('hosting_certificate', sa.String(length=100), nullable=False),
    sa.Column('logo_url', sa.String(length=300), nullable=False),
    sa.Column('support_email', sa.String(length=254), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('launch_url', sa.String(length=300), nullable=False),
    sa.Column('pkce', sa.Boolean(), nullable=False),
    sa.Column('self_assessment', sa.JSON(), nullable=False),
    sa.Column('jwks', sa.JSON(), nullable=False),
    sa.Column('service_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_due_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_apps_apps_owner_id_users')),
    sa.ForeignKeyConstraint(['service_user_id'], ['users.id'], name=op.f('fk_apps_apps_service_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_apps')),
    sa.UniqueConstraint('client_id', name=op.f('uq_apps_apps_client_id'))
    )
    with op.batch_alter_table('apps_apps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_apps_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apps_apps_status'), ['status'], unique=False)

    op.create_table('apps_requirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('theme', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('check', sa.Text(), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['apps_doctrine_versions.id'], name=op.f('fk_apps_requirements_version_id_apps_doctrine_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_requirements')),
    sa.UniqueConstraint('version_id', 'code', name=op.f('uq_apps_requirements_version_id'))
    )
    with op.batch_alter_table('apps_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_requirements_version_id'), ['version_id'], unique=False)

    op.create_table('apps_client_assertions',
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps_apps.id'], name=op.f('fk_apps_client_assertions_app_id_apps_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_apps_client_assertions'))
    )
    with op.batch_alter_table('apps_client_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_client_assertions_expires_at'), ['expires_at'], unique=False)

    op.create_table('apps_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_fid', sa.String(length=64), nullable=True),
    sa.Column('scope', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps_apps.id'], name=op.f('fk_apps_grants_app_id_apps_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_apps_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_grants'))
    )
    with op.batch_alter_table('apps_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_grants_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apps_grants_user_id'), ['user_id'], unique=False)

    op.create_table('apps_launch_contexts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_fid', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps_apps.id'], name=op.f('fk_apps_launch_contexts_app_id_apps_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_apps_launch_contexts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_launch_contexts'))
    )
    with op.batch_alter_table('apps_launch_contexts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_launch_contexts_expires_at'), ['expires_at'], unique=False)

    op.create_table('apps_requirement_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requirement_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_label', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['users.id'], name=op.f('fk_apps_requirement_comments_answered_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_apps_requirement_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requirement_id'], ['apps_requirements.id'], name=op.f('fk_apps_requirement_comments_requirement_id_apps_requirements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_requirement_comments'))
    )
    with op.batch_alter_table('apps_requirement_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_requirement_comments_requirement_id'), ['requirement_id'], unique=False)

    op.create_table('apps_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=12), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps_apps.id'], name=op.f('fk_apps_reviews_app_id_apps_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_apps_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_reviews'))
    )
    with op.batch_alter_table('apps_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_reviews_app_id'), ['app_id'], unique=False)

    op.create_table('apps_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('redirect_uri', sa.String(length=300), nullable=False),
    sa.Column('scope', sa.String(length=2000), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=False),
    sa.Column('nonce', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps_apps.id'], name=op.f('fk_apps_codes_app_id_apps_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['apps_grants.id'], name=op.f('fk_apps_codes_grant_id_apps_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_apps_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_apps_codes_code_hash'))
    )
    op.create_table('apps_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('code_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=2000), nullable=False),
    sa.Column('patient_fid', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps_apps.id'], name=op.f('fk_apps_tokens_app_id_apps_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['code_id'], ['apps_codes.id'], name=op.f('fk_apps_tokens_code_id_apps_codes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grant_id'], ['apps_grants.id'], name=op.f('fk_apps_tokens_grant_id_apps_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_apps_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_tokens')),
    sa.UniqueConstraint('jti', name=op.f('uq_apps_tokens_jti'))
    )
    with op.batch_alter_table('apps_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_tokens_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apps_tokens_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apps_tokens_grant_id'), ['grant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('apps_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_tokens_grant_id'))
        batch_op.drop_index(batch_op.f('ix_apps_tokens_code_id'))
        batch_op.drop_index(batch_op.f('ix_apps_tokens_app_id'))

    op.drop_table('apps_tokens')
    op.drop_table('apps_codes')
    with op.batch_alter_table('apps_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_reviews_app_id'))

    op.drop_table('apps_reviews')
    with op.batch_alter_table('apps_requirement_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_requirement_comments_requirement_id'))

    op.drop_table('apps_requirement_comments')
    with op.batch_alter_table('apps_launch_contexts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_launch_contexts_expires_at'))

    op.drop_table('apps_launch_contexts')
    with op.batch_alter_table('apps_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_grants_user_id'))
        batch_op.drop_index(batch_op.f('ix_apps_grants_app_id'))

    op.drop_table('apps_grants')
    with op.batch_alter_table('apps_client_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_client_assertions_expires_at'))

    op.drop_table('apps_client_assertions')
    with op.batch_alter_table('apps_requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_requirements_version_id'))

    op.drop_table('apps_requirements')
    with op.batch_alter_table('apps_apps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_apps_status'))
        batch_op.drop_index(batch_op.f('ix_apps_apps_owner_id'))

    op.drop_table('apps_apps')
    op.drop_table('apps_signing_keys')
    with op.batch_alter_table('apps_pending_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_pending_authorizations_expires_at'))

    op.drop_table('apps_pending_authorizations')
    op.drop_table('apps_doctrine_versions')
