"""Typed settings, read from ``ESANTE_*`` variables and ``ESANTE_*_FILE`` secrets.

The app refuses to start in production with a development secret or without a key ring.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me-dev-secret-change-me"  # noqa: S105 - refused in production

SECRET_FIELDS = ("secret_key", "master_key", "smtp_password")
OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
FINESS_RE = re.compile(r"^[0-9][0-9AB][0-9]{7}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESANTE_", extra="ignore")

    mode: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = DEV_SECRET
    # Base64 of 32 bytes. When unset, the key ring file holds the master keys.
    master_key: str = ""
    keyring_path: Path | None = None
    blob_dir: Path | None = None

    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool = True
    session_minutes: int = Field(default=60, ge=5, le=24 * 60)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # File uploads (evidence, documents) get their own, larger limit.
    max_upload_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    # Each web process runs blocking work (database, crypto) in a pool of threads; each
    # thread holds at most one database connection, so the pool of connections is as large
    # as the pool of threads (PostgreSQL; SQLite writers queue on its lock anyway).
    web_threads: int = Field(default=16, ge=1, le=200)

    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    login_ip_limit_per_15min: int = Field(default=30, ge=1)
    token_default_days: int = Field(default=30, ge=1, le=365)

    # argon2id cost; the defaults follow the library's (RFC 9106 low-memory profile).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)

    # Password policy (ANSSI: length and strength, breached passwords refused; no forced
    # periodic change). The zxcvbn score goes from 0 to 4; 3 is "safely unguessable".
    password_min_length: int = Field(default=12, ge=8, le=128)
    password_min_score: int = Field(default=3, ge=0, le=4)
    password_breach_check: bool = True

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_cafile: Path | None = None
    smtp_timeout: float = 20.0
    mail_from: str = "ne-pas-repondre@esante.localhost"
    # Outside recipients of major-incident escalations (ministry security officer, crisis
    # centre): e-mail addresses, empty when not configured.
    escalation_hfds_email: str = ""
    escalation_crisis_centre_email: str = ""

    redis_url: str = ""
    # FHIR bulk $export files are kept (encrypted) this long, then purged.
    fhir_export_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Citizen health space: objection period after the letter, archive of a closed space
    # (legal period) before `esante space purge`, size of a document the citizen uploads.
    space_objection_days: int = Field(default=42, ge=0, le=365)
    space_retention_days: int = Field(default=3650, ge=0, le=36500)
    space_document_max_bytes: int = Field(default=5 * 1_048_576, ge=1024)
    dsfr_dir: Path | None = None
    # Identity: calls to the reference directory (the INSi role) per account and minute.
    identity_directory_rate_per_minute: int = Field(default=300, ge=1, le=100_000)
    # Identity: each establishment's own OID for its local patient identifiers (IPP), as
    # JSON {"FINESS": "OID"}; without one, a UUID-derived OID under 2.25 (docs/identity.md).
    identity_local_oids: dict[str, str] = Field(default_factory=dict)
    # Apps: calls to the OAuth endpoints (authorize, token, revoke, introspect) per minute,
    # per source address (every call) and per client (calls that succeeded).
    apps_oauth_ip_per_minute: int = Field(default=300, ge=1, le=100_000)
    apps_oauth_client_per_minute: int = Field(default=600, ge=1, le=100_000)

    @field_validator("identity_local_oids")
    @classmethod
    def _check_local_oids(cls, value: dict[str, str]) -> dict[str, str]:
        for finess, oid in value.items():
            if not FINESS_RE.match(finess):
                raise ValueError(f"ESANTE_IDENTITY_LOCAL_OIDS : FINESS invalide {finess[:12]!r}")
            if len(oid) > 64 or not OID_RE.match(oid):
                raise ValueError(f"ESANTE_IDENTITY_LOCAL_OIDS : OID invalide {oid[:70]!r} "
                                 "(chiffres séparés par des points, 64 caractères au plus)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        """``ESANTE_X_FILE=/run/secrets/x`` sets ``x`` from the file's content."""
        if not isinstance(data, dict):
            return data
        for name in SECRET_FIELDS:
            path = os.environ.get(f"ESANTE_{name.upper()}_FILE")
            if path and not data.get(name):
                data[name] = Path(path).read_text(encoding="utf-8").strip()
        return data

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.mode != "production":
            return self
        if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
            raise ValueError(
                "ESANTE_SECRET_KEY doit être défini (32 caractères au moins) en production "
                "/ ESANTE_SECRET_KEY must be set (32+ chars) in production"
            )
        if not self.master_key and not self.resolved_keyring_path.exists():
            raise ValueError(
                "clé maître absente : définir ESANTE_MASTER_KEY(_FILE) ou créer le trousseau "
                "avec `esante keys init` / no master key in production"
            )
        if not self.database_url:
            raise ValueError("ESANTE_DATABASE_URL doit être défini en production")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'esante.db'}"

    @property
    def resolved_keyring_path(self) -> Path:
        # Kept apart from the data dir on purpose: backups never carry the keys.
        return self.keyring_path or (self.data_dir / "keys" / "keyring.json")

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or (self.data_dir / "blobs")

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
