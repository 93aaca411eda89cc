"""``esante cyber inventory import`` and ``esante cyber advisories import``, run as real
processes on their own fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.db import make_engine
from esante.core.orgs import service as orgs
from esante.cyber.threatwatch.models import Advisory, Alert, InstalledProduct
from tests.factories import FINESS_A
from tests.test_cli import Cli

pytestmark = pytest.mark.slow
DATA = Path(__file__).parents[2] / "src/esante/cyber/threatwatch/data"


def count(cli: Cli, model: type) -> int:
    return cli.scalar(select(func.count()).select_from(model))  # type: ignore[no-any-return]


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.freshdb import fresh_database_url

    with fresh_database_url(tmp_path) as url:
        cli = Cli(url, tmp_path / "var")
        cli("db", "upgrade")
        engine = make_engine(url)
        with Session(engine) as session:
            orgs.ensure_regions(session)
            orgs.create_establishment(session, actor=Actor.system("tests"), finess=FINESS_A,
                                      name="CHU de Paris-Test", category="CH", department="75")
            session.commit()
        engine.dispose()
        yield cli


def test_inventory_then_csaf_import(cli: Cli, tmp_path: Path) -> None:
    done = cli("cyber", "inventory", "import", FINESS_A, str(DATA / "sbom-serveur-dpi.cdx.json"))
    assert "4 produit(s) ajouté(s) (cyclonedx)" in done.stdout
    assert "sans nom CPE ignorés : 1" in done.stdout
    done = cli("cyber", "advisories", "import", str(DATA / "csaf-apache-httpd-2023.json"),
               str(DATA / "csaf-fortios-2024.json"))
    assert "CERT-SANTE-DEMO-2023-0012 importé (TLP:CLEAR, CVSS 9.8), 1 établissement" \
        in done.stdout
    assert "CERT-SANTE-DEMO-2024-0007 importé (TLP:AMBER" in done.stdout
    assert count(cli, Advisory) == 2 and count(cli, Alert) == 1
    done = cli("cyber", "advisories", "rematch")  # every alert is already there
    assert "2 avis ouverts" in done.stdout and ": 0 nouvelle(s) alerte(s)" in done.stdout


def test_bad_files_fail_with_one_line_and_save_nothing(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("cpe,nom\ncpe:2.3:a:apache:http_server:2.4.1:*:*:*:*:*:*:*,ok\n"
                   "cpe:2.3:a:apache,ko\n", encoding="utf-8")
    done = cli("cyber", "inventory", "import", FINESS_A, str(bad), ok=False)
    assert done.returncode != 0 and "ligne 3" in done.stderr + done.stdout
    done = cli("cyber", "inventory", "import", "999999999", str(bad), ok=False)
    assert done.returncode != 0 and "introuvable" in done.stderr + done.stdout
    broken = tmp_path / "broken.json"
    broken.write_text('{"document": {"category": "csaf_base", "csaf_version": "2.1"}}')
    done = cli("cyber", "advisories", "import", str(broken), ok=False)
    assert done.returncode != 0 and "csaf_version" in done.stderr + done.stdout
    assert count(cli, InstalledProduct) == 0 and count(cli, Advisory) == 0
