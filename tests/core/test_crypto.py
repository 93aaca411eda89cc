"""Envelope encryption at rest: round trip, tampering and wrong context refused, the data
key id beside the ciphertext, master key rotation (and ``esante keys``)."""

from __future__ import annotations

import base64
import json
import secrets
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from esante.core import crypto, migrate
from esante.core.crypto import BlobStore, DataKey, KeyRing, Vault, _unwrap, rotate_master_key
from esante.core.db import get_engine, make_engine, transaction
from esante.core.errors import Invalid
from esante.core.settings import Settings, get_settings
from tests.core.test_backup import fresh_database


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A key ring of this test's own."""
    return Settings(data_dir=tmp_path, keyring_path=tmp_path / "keys" / "keyring.json")


def test_round_trip(db: Session, settings: Settings):
    vault = Vault(db, settings)
    plain = "Dossier de Zoé : allergie à la pénicilline".encode()
    blob = vault.encrypt(plain, purpose="document", context="doc:1")
    assert plain not in blob
    assert vault.decrypt(blob, context="doc:1") == plain
    # A fresh vault (no cached data key) unwraps the key from the database.
    assert Vault(db, settings).decrypt(blob, context="doc:1") == plain
    token = vault.encrypt_text("JBSWY3DPEHPK3PXP", purpose="totp", context="totp:7")
    assert Vault(db, settings).decrypt_text(token, context="totp:7") == "JBSWY3DPEHPK3PXP"
    # Same plaintext twice: different data keys and nonces, different ciphertexts.
    again = vault.encrypt(plain, purpose="document", context="doc:1")
    assert again != blob and again[2:18] != blob[2:18]


def test_key_id_is_stored_beside_the_ciphertext(db: Session, settings: Settings):
    vault = Vault(db, settings)
    blob = vault.encrypt(b"x" * 100, purpose="document", context="c")
    assert blob[:2] == b"E1"
    kid = uuid.UUID(bytes=blob[2:18]).hex
    row = db.get(DataKey, kid)
    assert row is not None
    assert row.purpose == "document"
    assert row.master_key_id == KeyRing.load(settings).active
    # 2 magic + 16 key id + 12 nonce + ciphertext + 16 tag.
    assert len(blob) == 2 + 16 + 12 + 100 + 16
    # The data key itself is stored wrapped, never in clear.
    raw_key = vault._cache[kid]
    assert base64.b64encode(raw_key).decode() not in row.wrapped
    assert raw_key not in base64.b64decode(row.wrapped)


@pytest.mark.parametrize("offset", [20, 40, -1])
def test_tampered_ciphertext_refused(db: Session, settings: Settings, offset: int):
    vault = Vault(db, settings)
    blob = bytearray(vault.encrypt(b"compte rendu " * 5, purpose="document", context="c"))
    blob[offset] ^= 0x01  # nonce, body, tag
    with pytest.raises(InvalidTag):
        Vault(db, settings).decrypt(bytes(blob), context="c")


def test_tampered_header_refused(db: Session, settings: Settings):
    vault = Vault(db, settings)
    blob = vault.encrypt(b"secret", purpose="document", context="c")
    with pytest.raises(Invalid, match="illisible"):
        vault.decrypt(b"E2" + blob[2:], context="c")
    with pytest.raises(Invalid, match="clé de données inconnue"):
        vault.decrypt(blob[:2] + uuid.uuid4().bytes + blob[18:], context="c")
    # Another existing data key: authentication fails.
    other = vault.encrypt(b"other", purpose="document", context="c")
    with pytest.raises(InvalidTag):
        vault.decrypt(blob[:2] + other[2:18] + blob[18:], context="c")


def test_wrong_context_refused(db: Session, settings: Settings):
    vault = Vault(db, settings)
    blob = vault.encrypt(b"secret", purpose="totp", context="totp:1")
    with pytest.raises(InvalidTag):
        vault.decrypt(blob, context="totp:2")
    with pytest.raises(InvalidTag):
        vault.decrypt(blob)
    # A blob file copied under another id does not decrypt (its id is the context).
    store = BlobStore(vault)
    blob_id = store.put(b"radio thorax", purpose="image")
    other_id = uuid.uuid4().hex
    target = store.root / other_id[:2] / other_id
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((store.root / blob_id[:2] / blob_id).read_bytes())
    assert store.get(blob_id) == b"radio thorax"
    with pytest.raises(InvalidTag):
        store.get(other_id)
    with pytest.raises(Invalid):
        store.get("../../etc")


def test_master_key_missing_from_ring_refused(db: Session, settings: Settings, tmp_path):
    blob = Vault(db, settings).encrypt(b"secret", purpose="document")
    elsewhere = Settings(data_dir=tmp_path, keyring_path=tmp_path / "other" / "ring.json")
    with pytest.raises(Invalid, match="absente du trousseau"):
        Vault(db, elsewhere).decrypt(blob)


def test_master_key_from_settings(db: Session, tmp_path):
    key = secrets.token_bytes(32)
    s = Settings(data_dir=tmp_path, master_key=base64.b64encode(key).decode())
    ring = KeyRing.load(s)
    assert ring.keys == {ring.active: key} and ring.active.startswith("env-")
    assert not s.resolved_keyring_path.exists()  # no key ring file written
    blob = Vault(db, s).encrypt(b"x", purpose="t")
    assert Vault(db, s).decrypt(blob) == b"x"
    with pytest.raises(Invalid, match="32 octets"):
        KeyRing.load(Settings(data_dir=tmp_path, master_key=base64.b64encode(b"short").decode()))
    with pytest.raises(Invalid, match="trousseau"):
        rotate_master_key(db, s)


def test_key_ring_file_is_private(settings: Settings):
    ring = KeyRing.load(settings)  # created on first use outside production
    path = settings.resolved_keyring_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert KeyRing.load(settings).keys == ring.keys


# --- rotation: on a database of its own, with committed data keys ---------------------


@dataclass
class Install:
    settings: Settings
    engine: Engine


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    with fresh_database(tmp_path) as url:
        keyring = tmp_path / "keys" / "keyring.json"
        monkeypatch.setenv("ESANTE_DATABASE_URL", url)
        monkeypatch.setenv("ESANTE_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("ESANTE_KEYRING_PATH", str(keyring))
        for name in ("ESANTE_MASTER_KEY", "ESANTE_MASTER_KEY_FILE", "ESANTE_BLOB_DIR"):
            monkeypatch.delenv(name, raising=False)
        _clear_caches()
        engine = make_engine(url)
        migrate.upgrade(engine)
        try:
            yield Install(Settings(), engine)
        finally:
            engine.dispose()
            _clear_caches()


def out(result) -> str:  # type: ignore[no-untyped-def]
    """The command's output on one line (rich wraps long lines)."""
    return " ".join(result.output.split())


def _clear_caches() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


def _encrypt_some(inst: Install) -> dict[bytes, tuple[bytes, str]]:
    out = {}
    with transaction(inst.engine) as session:
        vault = Vault(session, inst.settings)
        for i in range(3):
            plain = f"note {i}".encode()
            out[vault.encrypt(plain, purpose="note", context=f"n{i}")] = (plain, f"n{i}")
        blob_id = BlobStore(vault).put(b"scanner", purpose="image")
    path = inst.settings.resolved_blob_dir / blob_id[:2] / blob_id
    out[path.read_bytes()] = (b"scanner", blob_id)
    return out


def _forget_unwrapped_keys() -> None:
    """Drop any process-wide cache of unwrapped data keys, so that decrypting below
    really unwraps with the key ring."""
    cache = getattr(crypto, "_UNWRAPPED", None)
    if isinstance(cache, dict):
        cache.clear()


def _data_keys(inst: Install) -> dict[str, tuple[str, str]]:
    with Session(inst.engine) as session:
        return {k.id: (k.master_key_id, k.wrapped) for k in session.scalars(select(DataKey))}


def _assert_decrypts(inst: Install, ciphertexts: dict[bytes, tuple[bytes, str]]) -> None:
    with Session(inst.engine) as session:
        vault = Vault(session, inst.settings)
        for blob, (plain, context) in ciphertexts.items():
            assert vault.decrypt(blob, context=context) == plain


def test_rotation_rewraps_data_keys_and_old_ciphertexts_still_decrypt(install: Install):
    ciphertexts = _encrypt_some(install)
    old_id = KeyRing.load(install.settings).active
    before = _data_keys(install)
    assert {mk for mk, _ in before.values()} == {old_id}

    with transaction(install.engine) as session:
        new_id, count = rotate_master_key(session, install.settings)
    assert new_id != old_id
    assert count == len(before) == 4

    ring = KeyRing.load(install.settings)
    assert ring.active == new_id and set(ring.keys) == {old_id, new_id}
    after = _data_keys(install)
    assert set(after) == set(before)
    for kid, (mk, wrapped) in after.items():
        assert mk == new_id
        assert wrapped != before[kid][1]
        # Same data key, now wrapped by the new master key only.
        same = _unwrap(ring.keys[new_id], new_id, wrapped, kid)
        assert same == _unwrap(ring.keys[old_id], old_id, before[kid][1], kid)
        with pytest.raises(InvalidTag):
            _unwrap(ring.keys[old_id], old_id, wrapped, kid)
    # Ciphertexts are untouched and still decrypt...
    _forget_unwrapped_keys()
    _assert_decrypts(install, ciphertexts)
    # ...even once the old master key is retired: the data keys no longer need it.
    path = install.settings.resolved_keyring_path
    raw = json.loads(path.read_text())
    del raw["keys"][old_id]
    path.write_text(json.dumps(raw))
    _forget_unwrapped_keys()
    _assert_decrypts(install, ciphertexts)
    # New data is wrapped with the new key.
    with transaction(install.engine) as session:
        blob = Vault(session, install.settings).encrypt(b"new", purpose="note")
        row = session.get(DataKey, uuid.UUID(bytes=blob[2:18]).hex)
        assert row is not None and row.master_key_id == new_id


def test_rotation_is_transactional(install: Install):
    """The key ring keeps the old key: data keys left by a rolled back rotation (or a
    backup made before it) still unwrap."""
    ciphertexts = _encrypt_some(install)
    old_id = KeyRing.load(install.settings).active

    def crash_after_rotation() -> None:
        with transaction(install.engine) as session:
            rotate_master_key(session, install.settings)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash_after_rotation()
    assert {mk for mk, _ in _data_keys(install).values()} == {old_id}
    assert old_id in KeyRing.load(install.settings).keys
    _forget_unwrapped_keys()
    _assert_decrypts(install, ciphertexts)


def test_cli_keys_init_and_rotate(install: Install, monkeypatch: pytest.MonkeyPatch):
    from esante.cli import app

    runner = CliRunner()
    path = install.settings.resolved_keyring_path
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output
    assert "trousseau créé" in out(result) and path.exists()
    first = json.loads(path.read_text())["active"]
    assert "déjà présent" in out(runner.invoke(app, ["keys", "init"]))
    assert json.loads(path.read_text())["active"] == first

    ciphertexts = _encrypt_some(install)
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new_id = json.loads(path.read_text())["active"]
    assert new_id != first
    assert f"nouvelle clé maître {new_id}" in out(result)
    assert "4 clé(s) de données re-chiffrée(s)" in out(result)
    assert {mk for mk, _ in _data_keys(install).values()} == {new_id}
    _forget_unwrapped_keys()
    _assert_decrypts(install, ciphertexts)

    # With ESANTE_MASTER_KEY there is no ring to rotate: a clear error, exit 1.
    monkeypatch.setenv("ESANTE_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    get_settings.cache_clear()
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 1
    assert "la rotation demande un trousseau" in out(result)
