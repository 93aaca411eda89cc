"""Encryption at rest: AES-256-GCM envelope encryption.

Each piece of data is encrypted with a data key; data keys are stored wrapped (encrypted)
by a master key. Master keys live in a key ring file kept apart from the database and the
backups (or in ``ESANTE_MASTER_KEY``). ``rotate_master_key`` adds a master key and re-wraps
every data key in one transaction: ciphertexts are untouched, so the app keeps running.

Ciphertext layout: ``b"E1" | data-key id (16 bytes) | nonce (12 bytes) | AES-GCM output``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from esante.core.db import Base, utcnow
from esante.core.errors import Invalid
from esante.core.settings import Settings, get_settings

MAGIC = b"E1"


class DataKey(Base):
    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    master_key_id: Mapped[str] = mapped_column(String(40), index=True)
    wrapped: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass
class KeyRing:
    active: str
    keys: dict[str, bytes]

    @classmethod
    def load(cls, settings: Settings) -> KeyRing:
        if settings.master_key:
            key = base64.b64decode(settings.master_key)
            if len(key) != 32:
                raise Invalid("ESANTE_MASTER_KEY doit faire 32 octets (base64)")
            kid = "env-" + hashlib.sha256(key).hexdigest()[:12]
            return cls(active=kid, keys={kid: key})
        path = settings.resolved_keyring_path
        if not path.exists():
            if settings.mode == "production":
                raise Invalid("trousseau de clés absent : `esante keys init`")
            return cls.create(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            active=raw["active"],
            keys={kid: base64.b64decode(k) for kid, k in raw["keys"].items()},
        )

    @classmethod
    def create(cls, path: Path) -> KeyRing:
        ring = cls(active="", keys={})
        ring.add_key()
        ring.save(path)
        return ring

    def add_key(self) -> str:
        kid = f"mk-{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        self.keys[kid] = AESGCM.generate_key(bit_length=256)
        self.active = kid
        return kid

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        body = json.dumps(
            {"active": self.active,
             "keys": {kid: base64.b64encode(k).decode() for kid, k in self.keys.items()}},
            indent=2,
        )
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def _wrap(master: bytes, master_id: str, data_key: bytes, key_id: str) -> str:
    nonce = secrets.token_bytes(12)
    aad = f"{master_id}:{key_id}".encode()
    return base64.b64encode(nonce + AESGCM(master).encrypt(nonce, data_key, aad)).decode()


def _unwrap(master: bytes, master_id: str, wrapped: str, key_id: str) -> bytes:
    raw = base64.b64decode(wrapped)
    aad = f"{master_id}:{key_id}".encode()
    return AESGCM(master).decrypt(raw[:12], raw[12:], aad)


# Data keys already unwrapped in this process (their wrapping may rotate, never the key).
_UNWRAPPED: dict[str, bytes] = {}
_UNWRAPPED_MAX = 10_000


@event.listens_for(Session, "after_soft_rollback")
def _forget_shared_keys(session: Session, _previous: object) -> None:
    """A rolled-back transaction took its shared data keys with it."""
    for slot in [k for k in session.info if isinstance(k, str) and k.startswith("esante.dk:")]:
        del session.info[slot]


class Vault:
    """Encrypts and decrypts with data keys stored in the database."""

    def __init__(self, session: Session, settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings or get_settings()
        self.ring = KeyRing.load(self.settings)
        self._cache: dict[str, bytes] = {}

    def _new_data_key(self, purpose: str) -> tuple[str, bytes]:
        kid = uuid.uuid4().hex
        key = AESGCM.generate_key(bit_length=256)
        master_id = self.ring.active
        self.session.add(DataKey(id=kid, purpose=purpose, master_key_id=master_id,
                                 wrapped=_wrap(self.ring.keys[master_id], master_id, key, kid)))
        self.session.flush()
        self._cache[kid] = key
        return kid, key

    def _data_key(self, kid: str) -> bytes:
        if kid not in self._cache and kid in _UNWRAPPED:
            self._cache[kid] = _UNWRAPPED[kid]
        if kid not in self._cache:
            row = self.session.get(DataKey, kid)
            if row is None:
                raise Invalid("clé de données inconnue", "unknown data key")
            master = self.ring.keys.get(row.master_key_id)
            if master is None:
                raise Invalid(f"clé maître {row.master_key_id} absente du trousseau",
                              f"master key {row.master_key_id} missing from the key ring")
            self._cache[kid] = _unwrap(master, row.master_key_id, row.wrapped, kid)
            if len(_UNWRAPPED) >= _UNWRAPPED_MAX:
                _UNWRAPPED.clear()
            _UNWRAPPED[kid] = self._cache[kid]
        return self._cache[kid]

    def encrypt(self, plaintext: bytes, *, purpose: str, context: str = "") -> bytes:
        kid, key = self._new_data_key(purpose)
        nonce = secrets.token_bytes(12)
        return MAGIC + uuid.UUID(kid).bytes + nonce + AESGCM(key).encrypt(
            nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, *, context: str = "") -> bytes:
        if blob[:2] != MAGIC:
            raise Invalid("donnée chiffrée illisible", "unreadable ciphertext")
        kid = uuid.UUID(bytes=blob[2:18]).hex
        return AESGCM(self._data_key(kid)).decrypt(blob[18:30], blob[30:], context.encode())

    def encrypt_shared(self, plaintext: bytes, *, purpose: str, context: str = "") -> bytes:
        """Like ``encrypt``, with one data key for every record of ``purpose`` written in
        this transaction (a FHIR bulk load writes thousands): the key row lives and dies
        with the records it protects. Random 96-bit nonces keep AES-GCM safe far beyond
        one transaction's volume."""
        slot = f"esante.dk:{purpose}"
        if slot not in self.session.info:
            self.session.info[slot] = self._new_data_key(purpose)
        kid, key = self.session.info[slot]
        nonce = secrets.token_bytes(12)
        return MAGIC + uuid.UUID(kid).bytes + nonce + AESGCM(key).encrypt(
            nonce, plaintext, context.encode())

    def derived_key(self, name: str, *, info: str) -> bytes:
        """A stable secret for keyed hashes (HMAC), or a password handed to another program
        (Dovecot's mail_crypt key), never a key for the platform's own encryption (which
        must follow rotation): HKDF-SHA256 of a
        data key stored under the fixed id ``name`` (created on first use, wrapped by the
        master key like every data key). Nothing ties it to ``ESANTE_SECRET_KEY``, and a
        master-key rotation re-wraps it without changing it. Two processes creating it at
        once collide on the primary key: one transaction fails rather than two keys
        silently diverging. Kept per transaction (forgotten on rollback)."""
        slot = f"esante.dk:derived:{name}:{info}"
        if slot in self.session.info:
            return bytes(self.session.info[slot])
        row = self.session.get(DataKey, name)
        if row is None:
            base = AESGCM.generate_key(bit_length=256)
            master_id = self.ring.active
            self.session.add(DataKey(id=name, purpose=name[:40], master_key_id=master_id,
                                     wrapped=_wrap(self.ring.keys[master_id], master_id, base,
                                                   name)))
            self.session.flush()
        else:
            master = self.ring.keys.get(row.master_key_id)
            if master is None:
                raise Invalid(f"clé maître {row.master_key_id} absente du trousseau",
                              f"master key {row.master_key_id} missing from the key ring")
            base = _unwrap(master, row.master_key_id, row.wrapped, name)
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=info.encode()).derive(base)
        self.session.info[slot] = derived
        return derived

    def encrypt_text(self, text: str, *, purpose: str, context: str = "") -> str:
        return base64.b64encode(self.encrypt(text.encode(), purpose=purpose,
                                             context=context)).decode()

    def decrypt_text(self, token: str, *, context: str = "") -> str:
        return self.decrypt(base64.b64decode(token), context=context).decode()


class BlobStore:
    """Encrypted files in a local folder, named by a random id (never by content)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.root = vault.settings.resolved_blob_dir

    def put(self, data: bytes, *, purpose: str) -> str:
        blob_id = uuid.uuid4().hex
        path = self.root / blob_id[:2] / blob_id
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(self.vault.encrypt(data, purpose=purpose, context=blob_id))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return blob_id

    def get(self, blob_id: str) -> bytes:
        if not blob_id.isalnum():
            raise Invalid("identifiant de fichier invalide", "invalid blob id")
        path = self.root / blob_id[:2] / blob_id
        return self.vault.decrypt(path.read_bytes(), context=blob_id)


def rotate_master_key(session: Session, settings: Settings | None = None) -> tuple[str, int]:
    """Add a master key to the ring, re-wrap every data key with it. Returns (id, count).

    The ring file is written first (old keys kept, so backups made before stay
    restorable), then the data keys are re-wrapped in the caller's transaction: a crash
    in between leaves data keys wrapped by an old key that is still in the ring."""
    settings = settings or get_settings()
    if settings.master_key:
        raise Invalid(
            "la rotation demande un trousseau (ESANTE_KEYRING_PATH), pas ESANTE_MASTER_KEY",
            "rotation needs a key ring file, not ESANTE_MASTER_KEY",
        )
    ring = KeyRing.load(settings)
    new_id = ring.add_key()
    ring.save(settings.resolved_keyring_path)
    count = 0
    for row in session.scalars(select(DataKey).where(DataKey.master_key_id != new_id)):
        old = ring.keys[row.master_key_id]
        plain = _unwrap(old, row.master_key_id, row.wrapped, row.id)
        row.wrapped = _wrap(ring.keys[new_id], new_id, plain, row.id)
        row.master_key_id = new_id
        count += 1
    session.flush()
    return new_id, count
