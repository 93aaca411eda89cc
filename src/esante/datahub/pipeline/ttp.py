"""The trusted third party (TTP): holds the master secret and derives each project's key.

The hub never reads the master secret itself: it asks this module for a project's key, and
the key is derived with HKDF-SHA-256 (RFC 5869) with the project id as ``info``, so that two
projects' pseudonyms of the same person cannot be linked without the master secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from esante.datahub.pipeline.errors import PipelineError

KEY_BYTES = 32
_SALT = b"esante/datahub/pseudonym/v1"


class PipelineSettings(BaseSettings):
    """``ESANTE_DATAHUB_*`` settings of the pipeline."""

    model_config = SettingsConfigDict(env_prefix="ESANTE_DATAHUB_", extra="ignore")
    # File holding the TTP master secret (hex, 32 bytes or more); readable by the TTP only.
    ttp_secret_file: Path = Path("var/ttp/master.key")
    # Output checking: cells under this count are suppressed (DOMAIN.md: unconfirmed, default 10).
    small_cell_threshold: int = Field(default=10, ge=1, le=1000)
    # An extract whose requested datasets hold at most this many rows runs in the request
    # that launches it; a larger one goes to the worker (``esante worker``).
    # Per-person date shifting (when a project's decision asks for it): at most this many
    # days either way.
    date_shift_max_days: int = Field(default=30, ge=1, le=365)
    inline_rows_max: int = Field(default=500_000, ge=0)
    # Where extracts are written (one folder per run); relative to the data directory.
    extracts_dir: Path = Path("datahub/extracts")
    # The worker running an extract says it is alive this often; an extract it has not been
    # heard of for ``extract_silent_minutes`` is taken for one whose worker died, and the
    # sweep puts it back in the queue. One that never had a heartbeat (run in a request)
    # is judged by its start, ``extract_stale_minutes`` (longer than the largest run).
    extract_heartbeat_seconds: float = Field(default=30.0, gt=0)
    extract_silent_minutes: float = Field(default=5.0, gt=0)
    extract_stale_minutes: int = Field(default=360, ge=1)


def create_master_secret(path: Path) -> None:
    """Write a new master secret (TTP set-up); refuses to overwrite one."""
    if path.exists():
        raise PipelineError(f"le secret maître existe déjà : {path}", f"master secret already exists: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secrets.token_hex(KEY_BYTES), encoding="ascii")


def _master_secret(path: Path) -> bytes:
    try:
        raw = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        raise PipelineError(
            f"secret maître du tiers de confiance introuvable : {path}",
            f"TTP master secret not found: {path}",
        ) from None
    except ValueError:
        raise PipelineError(
            "secret maître du tiers de confiance illisible (hexadécimal attendu)",
            "TTP master secret is not hex",
        ) from None
    if len(raw) < KEY_BYTES:
        raise PipelineError("secret maître trop court (32 octets au moins)", "TTP master secret too short")
    return raw


def project_key(project_id: str, *, secret_file: Path | None = None) -> bytes:
    """The project's pseudonymisation key (32 bytes), derived from the master secret."""
    path = secret_file or PipelineSettings().ttp_secret_file
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_SALT, info=f"project:{project_id}".encode()
    )
    return hkdf.derive(_master_secret(path))


def key_fingerprint(key: bytes) -> str:
    """Tells two keys apart in a report without revealing them."""
    return hashlib.sha256(b"fingerprint:" + key).hexdigest()[:16]


def date_shift_key(key: bytes) -> bytes:
    """The key of the per-person date shifts, apart from the pseudonyms' own (a shift
    reveals nothing of a pseudonym, nor the reverse)."""
    return hmac.new(key, b"esante/datahub/date-shift/v1", hashlib.sha256).digest()
