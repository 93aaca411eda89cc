"""The server's signing keys (RS256), stored with their private half encrypted at rest.

The newest key not retired signs; ``rotate`` adds a key and retires the others, which stay
published in the JWKS for ``RETIRED_KEPT`` so that the tokens they signed still verify."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esante.apps.models import SigningKey
from esante.core import audit
from esante.core.audit import Actor
from esante.core.crypto import Vault
from esante.core.db import utcnow

ALG = "RS256"
RETIRED_KEPT = timedelta(days=1)  # longer than any access token lives
_PURPOSE = "apps.signing-key"
_private_cache: dict[str, RSAKey] = {}


def _new_key(session: Session) -> SigningKey:
    kid = secrets.token_urlsafe(12)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALG, "use": "sig"},
                              private=True)
    pem = key.as_pem(private=True).decode()
    row = SigningKey(kid=kid, private_enc=Vault(session).encrypt_text(
        pem, purpose=_PURPOSE, context=kid), public_jwk=key.as_dict(private=False))
    session.add(row)
    session.flush()
    return row


def active_key(session: Session) -> SigningKey:
    row = session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))
                          .order_by(SigningKey.created_at.desc())).first()
    return row or _new_key(session)


def private_key(session: Session, row: SigningKey) -> RSAKey:
    if row.kid not in _private_cache:
        pem = Vault(session).decrypt_text(row.private_enc, context=row.kid)
        _private_cache[row.kid] = RSAKey.import_key(
            pem, parameters={"kid": row.kid, "alg": ALG, "use": "sig"})
    return _private_cache[row.kid]


def signing_keyset(session: Session) -> KeySet:
    return KeySet([private_key(session, active_key(session))])


def published(session: Session) -> list[SigningKey]:
    horizon = utcnow() - RETIRED_KEPT
    return list(session.scalars(select(SigningKey).where(or_(
        SigningKey.retired_at.is_(None), SigningKey.retired_at > horizon))
        .order_by(SigningKey.created_at)))


def jwks(session: Session) -> dict[str, Any]:
    if not published(session):
        active_key(session)
    return {"keys": [row.public_jwk for row in published(session)]}


def verification_keyset(session: Session) -> KeySet:
    return KeySet.import_key_set(jwks(session))  # type: ignore[arg-type]


def rotate(session: Session, *, actor: Actor) -> SigningKey:
    now = utcnow()
    for row in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = now
    row = _new_key(session)
    audit.record(session, actor=actor, action="apps.key.rotate", object_type="SigningKey",
                 object_id=row.kid)
    return row
