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
