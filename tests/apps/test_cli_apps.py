"""``esante apps`` as a real process on a fresh database: an app file through its review,
and bad input answered by one clear line and a non-zero exit, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from esante.apps.models import App, SigningKey
from tests.apps.conftest import app_file
from tests.test_cli import Cli, cli  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery-staple-42"


def test_app_file_review_and_bad_input(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli("db", "upgrade")
    cli("user", "create", "--email", "ed@exemple.fr", "--password", PASSWORD,
        "--role", "app_publisher", "--scope", "nation")
    cli("user", "create", "--email", "rel@exemple.fr", "--password", PASSWORD,
        "--role", "app_reviewer", "--scope", "nation")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(app_file(siret="12345678901234")))
    done = cli("apps", "create", str(bad), "--publisher", "ed@exemple.fr", ok=False)
    assert done.returncode == 1 and "SIRET invalide" in done.stderr
    bad.write_text(json.dumps(app_file(redirect_uris=["http://exemple.fr/cb"])))
    done = cli("apps", "create", str(bad), "--publisher", "ed@exemple.fr", ok=False)
    assert done.returncode == 1 and "SEC-01" in done.stderr
    assert cli.scalar(select(func.count()).select_from(App)) == 0

    good = tmp_path / "good.json"
    good.write_text(json.dumps(app_file()))
    out = cli("apps", "create", str(good), "--publisher", "ed@exemple.fr").stdout
    assert "✓ ADM-01 SIRET valide" in out
    app_id = out.strip().splitlines()[-1].split()[1]
    done = cli("apps", "decide", app_id, "publish", "--reviewer", "rel@exemple.fr",
               "--reasons", "conforme à la doctrine", ok=False)
    assert done.returncode == 1 and "impossible sur un dossier « draft »" in done.stderr
    cli("apps", "submit", app_id, "--publisher", "ed@exemple.fr")
    out = cli("apps", "decide", app_id, "publish", "--reviewer", "rel@exemple.fr",
              "--reasons", "conforme à la doctrine").stdout
    assert "published" in out
    assert "Tensio Suivi" in cli("apps", "list", "--status", "published").stdout
    assert json.loads(cli("apps", "doctrine").stdout)["version"] == "1.0"
    cli("apps", "rotate-key")
    assert cli.scalar(select(func.count()).select_from(SigningKey)) == 1


def test_purge_and_re_review_reminders(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    from datetime import timedelta

    from sqlalchemy import create_engine, insert, update

    from esante.apps.models import PendingAuthorization
    from esante.core.db import utcnow
    from esante.core.notifications.models import Notification

    cli("db", "upgrade")
    cli("user", "create", "--email", "ed@exemple.fr", "--password", PASSWORD,
        "--role", "app_publisher", "--scope", "nation")
    cli("user", "create", "--email", "rel@exemple.fr", "--password", PASSWORD,
        "--role", "app_reviewer", "--scope", "nation")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(app_file()))
    out = cli("apps", "create", str(good), "--publisher", "ed@exemple.fr").stdout
    app_id = out.strip().splitlines()[-1].split()[1]
    cli("apps", "submit", app_id, "--publisher", "ed@exemple.fr")
    cli("apps", "decide", app_id, "publish", "--reviewer", "rel@exemple.fr",
        "--reasons", "conforme à la doctrine")
    assert "0 relance(s) envoyée(s)" in cli("apps", "remind").stdout  # not due yet

    engine = create_engine(cli.url)
    with engine.begin() as conn:
        now = utcnow()
        conn.execute(insert(PendingAuthorization), [
            {"id": "old", "query": "a=b", "expires_at": now - timedelta(minutes=1)},
            {"id": "new", "query": "a=b", "expires_at": now + timedelta(minutes=10)}])
        conn.execute(update(App).values(review_due_on=(now - timedelta(days=1)).date()))
    engine.dispose()
    out = cli("apps", "purge").stdout
    assert "1 demandes d'autorisation en attente de connexion" in out
    assert "1 ligne(s) supprimée(s)" in out
    assert cli.scalar(select(func.count()).select_from(PendingAuthorization)) == 1
    assert "0 ligne(s) supprimée(s)" in cli("apps", "purge").stdout

    out = cli("apps", "remind").stdout
    assert "Tensio Suivi : relance envoyée" in out and "1 relance(s) envoyée(s)" in out
    assert cli.scalar(select(func.count()).select_from(Notification)
                      .where(Notification.title.like("Réexamen périodique dû%"))) == 2
    assert "0 relance(s) envoyée(s)" in cli("apps", "remind").stdout  # once per due date
