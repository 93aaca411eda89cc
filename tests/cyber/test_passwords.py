"""Breached passwords by k-anonymity: the range format and its padding, prefix validation,
that only a 5-character prefix ever reaches the lookup (API, account policy, and a real
browser on the test page), the import command, the configurable policy, the demo corpus."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from esante.core.accounts import passwords as policy_module
from esante.core.errors import Invalid
from esante.core.settings import get_settings
from esante.cyber.passwords import service
from esante.cyber.passwords.importer import load_shipped_corpus, shipped_corpus, upsert
from esante.cyber.passwords.models import BreachedHash
from tests.e2e.browser import browser_test, chromium, french_page
from tests.e2e.conftest import instance, start_server  # noqa: F401 - fixtures of the browser test
from tests.e2e.server import Instance, Server
from tests.factories import PASSWORD

# Long, unrelated words: accepted by zxcvbn and absent from the common lists; refused only
# because the test stores its hash as breached.
BREACHED = "tournesol-granit-violon-58"
LINE = re.compile(r"^[0-9A-F]{35}:\d+$")


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest().upper()


def breach(db: Session, password: str, count: int = 42) -> str:
    digest = sha1(password)
    upsert(db, [(digest[:5], digest[5:], count)])
    return digest


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement sent while the test runs, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def assert_only_prefix(seen: list[tuple[str, Any]], password: str) -> None:
    digest = sha1(password)
    lookups = [params for sql, params in seen if "FROM breached_passwords" in sql]
    assert lookups, "no range lookup"
    for params in lookups:
        values = list(params.values()) if isinstance(params, dict) else list(params)
        assert values == [digest[:5]], values
    everything = repr(seen)
    for secret in (password, digest, digest.lower(), digest[5:], digest[5:].lower()):
        assert secret not in everything


# --- the range ------------------------------------------------------------------------------

def test_range_has_the_pwned_format_and_is_padded(client, personas, db):
    digest = breach(db, BREACHED, 42)
    other = "5BAA6" + "0" * 35
    upsert(db, [("5BAA6", other[5:], 7)])
    r = client.get(f"/api/passwords/range/{digest[:5].lower()}", headers=personas.auth("doctor"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "no-store"
    lines = r.text.split("\r\n")
    assert lines[-1] == ""  # every line ends with CRLF
    lines = lines[:-1]
    assert all(LINE.match(x) for x in lines)
    assert service.PAD_MIN <= len(lines) <= service.PAD_MAX
    assert lines == sorted(lines)
    counts = dict(x.split(":") for x in lines)
    assert counts[digest[5:]] == "42"
    assert sum(1 for c in counts.values() if c != "0") == 1  # the rest is padding
    again = client.get(f"/api/passwords/range/{digest[:5]}", headers=personas.auth("doctor"))
    assert again.text != r.text  # padding is drawn per answer
    assert digest[5:] + ":42" in again.text


def test_an_empty_range_is_padded_too(db):
    lines = service.padded_range(db, "FFFFF")
    assert service.PAD_MIN <= len(lines) <= service.PAD_MAX
    assert {c for _, c in lines} == {0}


@pytest.mark.parametrize("prefix", ["5BAA", "5BAA61", "GGGGG", "5BA-6", "5baa6%20"])
def test_a_prefix_is_five_hex_characters(client, personas, prefix):
    r = client.get(f"/api/passwords/range/{prefix}", headers=personas.auth("citizen"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"].startswith("requête invalide")
    with pytest.raises(Invalid, match="5 caractères hexadécimaux"):
        service.normalise_prefix(prefix)


def test_the_range_needs_a_login(client):
    assert client.get("/api/passwords/range/5BAA6").status_code == 401
    r = client.get("/cyber/mots-de-passe/plage/5BAA6", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


# --- k-anonymity: what the lookup receives ---------------------------------------------------

def test_the_range_lookup_receives_only_the_prefix(client, personas, db, statements):
    digest = breach(db, BREACHED)
    statements.clear()
    r = client.get(f"/api/passwords/range/{digest[:5]}", headers=personas.auth("citizen"))
    assert r.status_code == 200
    assert_only_prefix(statements, BREACHED)


def test_the_policy_looks_up_by_prefix_only(db, statements, monkeypatch):
    calls: list[tuple[Any, ...]] = []
    real = service.range_of
    monkeypatch.setattr(service, "range_of",
                        lambda session, *args: calls.append(args) or real(session, *args))
    breach(db, BREACHED)
    statements.clear()
    assert service.breach_count(db, BREACHED) == 42
    assert calls == [(sha1(BREACHED)[:5],)]
    assert_only_prefix(statements, BREACHED)


# --- the policy of the platform's own password changes ---------------------------------------

def test_api_password_change_refuses_a_breached_password(client, personas, db, statements):
    breach(db, BREACHED)
    statements.clear()
    r = client.post("/api/me/password", headers=personas.auth("doctor"),
                    json={"current_password": PASSWORD, "new_password": BREACHED})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "password-breached"
    assert "fuites de données" in r.json()["detail"]
    assert_only_prefix(statements, BREACHED)
    # A password absent from the corpus passes.
    r = client.post("/api/me/password", headers=personas.auth("doctor"),
                    json={"current_password": PASSWORD, "new_password": "tournesol-granit-violon-59"})
    assert r.status_code == 204, r.text


def test_account_page_refuses_a_breached_password(client, personas, db):
    from tests.core.test_auth import csrf_of, login

    breach(db, BREACHED)
    login(client, personas, "citizen")
    page = client.get("/account")
    r = client.post("/account/password", data={
        "csrf_token": csrf_of(page.text), "current_password": PASSWORD,
        "new_password": BREACHED, "confirm_password": BREACHED}, follow_redirects=False)
    assert r.status_code == 422
    assert "figure dans des fuites de données connues" in r.text


def test_the_policy_is_configurable(db, monkeypatch):
    breach(db, BREACHED)
    settings = get_settings()
    with pytest.raises(Invalid, match="fuites"):
        policy_module.check_policy(BREACHED, session=db)
    monkeypatch.setattr(settings, "password_breach_check", False)
    policy_module.check_policy(BREACHED, session=db)
    monkeypatch.setattr(settings, "password_min_length", 30)
    with pytest.raises(Invalid, match="30 caractères au moins"):
        policy_module.check_policy(BREACHED, session=db)
    monkeypatch.setattr(settings, "password_min_length", 12)
    monkeypatch.setattr(settings, "password_min_score", 4)
    with pytest.raises(Invalid, match="trop facile"):
        policy_module.check_policy("Mistral1987x", session=db)  # zxcvbn score: 3


# --- the shipped corpus and the import command -----------------------------------------------

def test_the_shipped_corpus_is_in_dump_format_and_loads(db):
    lines = [x for x in shipped_corpus().splitlines() if x and not x.startswith("#")]
    assert len(lines) > 1000
    assert all(re.match(r"^[0-9A-F]{40}:\d+$", x) for x in lines)
    assert load_shipped_corpus(db) == len(lines)
    assert load_shipped_corpus(db) == len(lines)  # idempotent
    assert db.scalar(select(func.count()).select_from(BreachedHash)) == len(lines)
    assert service.breach_count(db, "password") > 0
    assert service.breach_count(db, "azerty") > 0  # French ones too
    # No password of the demo or of the tests is in it.
    for ours in (PASSWORD, "cyber-vigilance-hopital-2026", "lavande-orage-cadran-piano-73"):
        assert service.breach_count(db, ours) == 0


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.freshdb import fresh_database_url
    from tests.test_cli import Cli

    with fresh_database_url(tmp_path) as url:
        runner = Cli(url, tmp_path / "var")
        runner("db", "upgrade")
        yield runner


@pytest.mark.slow
def test_import_a_dump_then_range_files_idempotently(cli, tmp_path):
    a, b = sha1("premier-mot-de-passe"), sha1("second-mot-de-passe")
    dump = tmp_path / "dump.txt"
    dump.write_text(f"# a comment\n{a}:10\n\n{b.lower()}:3\n{a}:12\n", encoding="ascii")
    out = cli("passwords", "import", str(dump), "--batch", "100").stdout
    assert "haché(s) importé(s)" in out
    assert cli("passwords", "import", str(dump)).returncode == 0  # idempotent
    count = select(func.count()).select_from(BreachedHash)
    assert cli.scalar(count) == 2
    assert cli.scalar(select(BreachedHash.count).where(BreachedHash.suffix == a[5:])) == 12
    folder = tmp_path / "ranges"
    folder.mkdir()
    (folder / "5baa6.txt").write_text(
        "1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n")
    (folder / "00000").write_text("0005AD76BD555C1D6D771DE417A4B87E4B4:4\n")
    for _ in range(2):
        cli("passwords", "import", str(folder))
    assert cli.scalar(count) == 5
    assert cli.scalar(select(BreachedHash.count).where(
        BreachedHash.prefix == "5BAA6",
        BreachedHash.suffix == "1E4C9B93F3F0682250B6CF8331B7EE68FD8")) == 10434004
    (folder / "notes.txt").write_text("x")
    bad = cli("passwords", "import", str(folder), ok=False)
    assert bad.returncode != 0
    assert "fichier de plage mal nommé" in bad.stderr
    broken = tmp_path / "broken.txt"
    broken.write_text(f"{a}\n")
    bad = cli("passwords", "import", str(broken), ok=False)
    assert bad.returncode != 0
    assert "ligne invalide" in bad.stderr


# --- a real browser on the test page ---------------------------------------------------------

@pytest.mark.slow
@browser_test
def test_the_browser_sends_only_the_prefix(
        instance: Instance, start_server: Callable[..., Server]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    email = "usager.mdp@e2e.esante.fr"
    instance.cli("user", "create", "--email", email, "--password", PASSWORD,
                 "--role", "citizen", "--name", "Usager Mdp")
    corpus = Path(service.__file__).parent / "data" / "common-sha1.txt"
    instance.cli("passwords", "import", str(corpus))  # "password" is breached
    server = start_server()
    base = server.base_url
    sent: list[str] = []
    with chromium() as browser:
        page = french_page(browser)
        page.set_default_timeout(10_000)
        page.goto(f"{base}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/cyber/mots-de-passe")
        page.on("request", lambda req: sent.append(
            f"{req.method} {req.url}\n{req.headers}\n{req.post_data or ''}"))
        for candidate, verdict in (("password", "Mot de passe compromis"),
                                   ("tournesol-granit-violon-58", "Absent des fuites connues")):
            page.fill("#pw-candidate", candidate)
            page.click("#pw-submit")
            expect(page.locator("#pw-verdict h2")).to_have_text(verdict)
            expect(page.locator("#pw-verdict")).to_contain_text("Robustesse estimée")
            digest = sha1(candidate)
            ranges = [s for s in sent if "/cyber/mots-de-passe/plage/" in s]
            assert ranges and ranges[-1].startswith(
                f"GET {base}/cyber/mots-de-passe/plage/{digest[:5]}\n")
            everything = "\n".join(sent)
            for secret in (candidate, digest, digest.lower(), digest[5:], digest[5:].lower()):
                assert secret not in everything
