"""The NIR hash key is the identity domain's own (a wrapped data key, HKDF-derived), not
ESANTE_SECRET_KEY; the establishment's OID for its local identifiers is a setting."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from esante.core.crypto import DataKey
from esante.core.settings import Settings, get_settings
from esante.identity import duplicates, formats, service
from esante.identity.models import LocalIdentity
from tests.freshdb import fresh_database_url
from tests.identity.conftest import principal, traits_of
from tests.test_cli import Cli


@pytest.fixture
def fresh_settings(monkeypatch):
    """Set ESANTE_* variables, then read settings anew (and again after the test)."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"ESANTE_{name.upper()}", value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


def _forget_keys(db) -> None:
    """A new process: no vault nor derived key kept in the session."""
    for slot in [k for k in db.info if isinstance(k, str) and k.startswith("esante.")]:
        del db.info[slot]


def test_nir_lookup_survives_a_new_secret_key(db, personas, ref, fresh_settings):
    finess = personas.est["A"].finess
    clerk = principal(personas, "clerk_a")
    identity, _ = service.create(db, clerk, finess=finess, traits=traits_of(ref.jeanne),
                                 matricule=ref.jeanne.matricule)
    stored = identity.nir_hash
    assert len(stored) == 64
    row = db.get(DataKey, service.NIR_KEY_NAME)
    assert row is not None and row.wrapped  # a data key of its own, wrapped by the master key
    secret = get_settings().secret_key
    old_style = hmac.new(hashlib.sha256(b"esante.identity.nir:" + secret.encode()).digest(),
                         ref.jeanne.matricule[:13].encode(), hashlib.sha256).hexdigest()
    assert stored != old_style

    fresh_settings(secret_key="another-secret-key-of-more-than-32-characters")
    _forget_keys(db)
    assert service.nir_hash(db, ref.jeanne.matricule) == stored
    found = duplicates.candidates(db, finess, service.traits_record(
        traits_of(ref.jeanne, birth_date="1981-01-01", birth_name="AUTRE"),
        matricule=ref.jeanne.matricule))
    assert [c.identity.id for c in found] == [identity.id]  # found through the NIR alone
    assert duplicates.SAME_NIR in found[0].reasons


def test_rehash_after_an_upgrade(db, personas, ref):
    identity, _ = service.create(db, principal(personas, "clerk_a"),
                                 finess=personas.est["A"].finess, traits=traits_of(ref.jeanne),
                                 matricule=ref.jeanne.matricule)
    good = identity.nir_hash
    identity.nir_hash = "0" * 64  # as left by the former, secret-key-bound hashing
    db.flush()
    assert service.rehash_nirs(db) == 1
    assert identity.nir_hash == good
    assert service.rehash_nirs(db) == 0


@pytest.mark.slow
def test_rehash_command(tmp_path):
    with fresh_database_url(tmp_path) as url:
        cli = Cli(url, tmp_path / "var")
        cli("db", "upgrade")
        assert "0 empreinte(s) de NIR recalculée(s)" in cli("identity", "nir-rehash").stdout


def test_local_oid_default_and_setting(db, personas, ref, fresh_settings):
    a, b = personas.est["A"].finess, personas.est["B"].finess
    default = service.local_oid(a)
    assert re.fullmatch(r"2\.25\.[1-9][0-9]*", default) and len(default) <= 64
    assert service.local_oid(a) == default and service.local_oid(b) != default
    assert "999" not in default.split(".")[:3]

    fresh_settings(identity_local_oids=f'{{"{a}": "1.2.250.1.71.4.2.2.{a[:8]}.1"}}')
    assert service.local_oid(a) == f"1.2.250.1.71.4.2.2.{a[:8]}.1"
    assert service.local_oid(b) != service.local_oid(a)  # B has none: the derived one
    identity, _ = service.create(db, principal(personas, "clerk_a"), finess=a,
                                 traits=traits_of(ref.jeanne), local_id="IPP-9")
    out = formats.from_local(identity, service.decode_traits(db, identity),
                             local_oid=service.local_oid(a))
    assert f"IPP-9^^^&1.2.250.1.71.4.2.2.{a[:8]}.1&ISO^PI" in formats.to_pid(out)
    assert db.scalar(select(LocalIdentity.patient_fid).where(LocalIdentity.id == identity.id))


@pytest.mark.parametrize(("value", "message"), [
    ('{"75000001X": "1.2.3"}', "FINESS invalide"),
    ('{"750000015": "1.2.250.x"}', "OID invalide"),
    ('{"750000015": "1.02.3"}', "OID invalide"),
])
def test_bad_local_oid_setting_is_refused(value, message, monkeypatch):
    monkeypatch.setenv("ESANTE_IDENTITY_LOCAL_OIDS", value)
    with pytest.raises(ValidationError, match=message):
        Settings()
