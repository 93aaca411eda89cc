"""The ``esante`` command, run as a real process on its own fresh database: help for every
command, the idempotent demo seed, accounts and tokens, and the audit tamper check."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from esante.core.accounts.models import ApiToken, User
from esante.core.demo import DEMO_PASSWORD, ESTABLISHMENTS, totp_secret_for
from esante.core.orgs.models import Establishment, Region
from esante.cyber.passwords.models import BreachedHash
from tests.freshdb import fresh_database_url

pytestmark = pytest.mark.slow

COMMANDS = ["serve", "worker", "run", "db", "demo", "user", "token", "audit", "keys", "backup",
            "passwords"]
SUBCOMMANDS = [["db", "upgrade"], ["db", "downgrade"], ["db", "current"], ["user", "create"],
               ["token", "create"], ["audit", "verify"], ["keys", "init"], ["keys", "rotate"],
               ["backup", "create"], ["backup", "restore"], ["passwords", "import"]]


class Cli:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.env = {**os.environ, "ESANTE_MODE": "test", "ESANTE_DATA_DIR": str(data_dir),
                    "ESANTE_DATABASE_URL": url, "ESANTE_ARGON2_TIME_COST": "1",
                    "ESANTE_ARGON2_MEMORY_KIB": "1024", "COLUMNS": "200"}

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "esante.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=180, check=False)
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def scalar(self, query):  # type: ignore[no-untyped-def]
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.scalar(query)
        finally:
            engine.dispose()


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with fresh_database_url(tmp_path) as url:
        yield Cli(url, tmp_path / "var")


def test_help_lists_every_command(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    out = cli("--help").stdout
    for name in COMMANDS:
        assert f" {name} " in out, name
    for sub in SUBCOMMANDS:
        done = cli(*sub, "--help")
        assert "Usage" in done.stdout, sub


def test_demo_is_idempotent_and_prints_the_logins(cli: Cli) -> None:
    cli("db", "upgrade")
    # The regions are reference data: there without any demo.
    assert cli.scalar(select(func.count()).select_from(Region)) == 18
    first = cli("demo").stdout
    assert DEMO_PASSWORD in first
    # Each login and its TOTP secret printed whole, ready to copy.
    assert "rssi@chu-paris.demo.esante.fr" in first
    assert totp_secret_for("rssi@chu-paris.demo.esante.fr") in first
    # The shipped breached-password corpus is loaded, once (see tests/cyber/test_passwords.py).
    assert cli.scalar(select(func.count()).select_from(BreachedHash)) > 1000
    second = cli("demo").stdout
    assert "0 établissement(s) créé(s)" in second
    assert cli.scalar(select(func.count()).select_from(Establishment)) == ESTABLISHMENTS
    assert cli.scalar(select(func.count()).select_from(Region)) == 18
    users = cli.scalar(select(func.count()).select_from(User))
    cli("demo")
    assert cli.scalar(select(func.count()).select_from(User)) == users


def test_user_and_token_creation(cli: Cli) -> None:
    cli("db", "upgrade")
    cli("user", "create", "--email", "admin@chu.example.fr", "--password",
        "une-phrase-de-passe-solide-2026", "--role", "admin")
    token = cli("token", "create", "--user", "admin@chu.example.fr", "--scope", "read",
                "--scope", "write").stdout.strip()
    assert token.startswith("esk_")
    # Only a hash is stored.
    stored = cli.scalar(select(ApiToken.token_hash))
    assert stored
    assert token not in stored

    bad = cli("user", "create", "--email", "x@example.fr", "--password", "court",
              "--role", "admin", ok=False)
    assert bad.returncode == 1
    assert "erreur" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    unknown = cli("user", "create", "--email", "y@example.fr", "--password",
                  "une-phrase-de-passe-solide-2026", "--role", "pirate", ok=False)
    assert unknown.returncode == 1
    assert "rôle inconnu" in unknown.stderr
    # Nothing was written by the refused commands.
    assert cli.scalar(select(func.count()).select_from(User)) == 1
    missing = cli("token", "create", "--user", "nobody@example.fr", ok=False)
    assert missing.returncode == 1
    assert "aucun compte" in missing.stderr


def test_audit_verify_names_the_altered_record(cli: Cli) -> None:
    cli("db", "upgrade")
    for n in range(3):
        cli("user", "create", "--email", f"u{n}@example.fr", "--password",
            "une-phrase-de-passe-solide-2026", "--role", "citizen")
    intact = cli("audit", "verify")
    assert "intacte" in intact.stdout
    victim = cli.scalar(text("SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET 2"))
    engine = create_engine(cli.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'user.delete' WHERE id = :id"),
                     {"id": victim})
    engine.dispose()

    broken = cli("audit", "verify", ok=False)
    assert broken.returncode == 2
    assert f"enregistrement {victim} " in broken.stderr
