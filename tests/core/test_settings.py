"""Settings: typed, from ESANTE_* variables and *_FILE secrets; production refuses
placeholder secrets, a missing master key and a missing database URL."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from esante.core.settings import Settings

STRONG = "x" * 40
KEY = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("ESANTE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_production_refuses_the_development_secret(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="ESANTE_SECRET_KEY"):
        Settings(mode="production", master_key=KEY, database_url="postgresql+psycopg://x/y")


def test_production_refuses_a_missing_master_key(clean_env: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="clé maître absente"):
        Settings(mode="production", secret_key=STRONG, data_dir=tmp_path,
                 database_url="postgresql+psycopg://x/y")


def test_production_refuses_the_embedded_database(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="ESANTE_DATABASE_URL"):
        Settings(mode="production", secret_key=STRONG, master_key=KEY)


def test_production_starts_with_real_secrets(clean_env: pytest.MonkeyPatch) -> None:
    s = Settings(mode="production", secret_key=STRONG, master_key=KEY,
                 database_url="postgresql+psycopg://x/y")
    assert s.mode == "production"
    assert not s.is_sqlite


def test_secrets_are_read_from_files(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(STRONG + "\n", encoding="utf-8")
    smtp = tmp_path / "smtp"
    smtp.write_text("relay-password", encoding="utf-8")
    clean_env.setenv("ESANTE_SECRET_KEY_FILE", str(secret))
    clean_env.setenv("ESANTE_SMTP_PASSWORD_FILE", str(smtp))
    clean_env.setenv("ESANTE_SMTP_PORT", "2525")
    s = Settings()
    assert s.secret_key == STRONG
    assert s.smtp_password == "relay-password"
    assert s.smtp_port == 2525


def test_typed_values_are_checked(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ESANTE_SESSION_MINUTES", "1")
    with pytest.raises(ValidationError, match="session_minutes"):
        Settings()


def test_embedded_default_lives_under_var(clean_env: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert s.resolved_database_url == "sqlite:///var/esante.db"
    assert s.resolved_keyring_path == Path("var/keys/keyring.json")
