"""The e-mailed one-time code, the space's other second factor: sent through a real SMTP
server (aiosmtpd, STARTTLS and authentication), 6 digits, hashed at rest, valid a few
minutes, limited tries, single use, per browser session, audited."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from esante.core.audit import AuditEvent
from esante.core.db import utcnow
from esante.core.notifications.models import OutboundMail
from esante.core.policy import Principal
from esante.space import service
from esante.space.models import MailFactor
from tests.core.test_auth import csrf_of, post_password
from tests.core.test_notifications_mail import smtp  # noqa: F401 - the SMTP server fixture
from tests.fhir.conftest import INS_NIR


@pytest.fixture
def relay(app, smtp):  # type: ignore[no-untyped-def]  # noqa: F811
    """The app mails through the test SMTP server (its settings put back afterwards)."""
    inbox, settings = smtp
    before = app.state.settings

    def use() -> None:
        app.state.settings = settings

    try:
        yield inbox, use
    finally:
        app.state.settings = before


def _code(inbox, n: int = -1) -> str:  # type: ignore[no-untyped-def]
    _, rcpts, raw = inbox.messages[n]
    assert rcpts == ["citizen@test.esante.fr"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "[esante] Votre code de connexion à l'espace santé"
    found = re.search(r"\b(\d{6})\b", msg.get_content())
    assert found
    return found.group(1)


def _count(db, action: str, outcome: str = "success") -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.outcome == outcome)) or 0)


def _post(client, action: str, code: str = ""):  # type: ignore[no-untyped-def]
    page = client.get("/espace/second-facteur")
    return client.post("/espace/second-facteur", data={
        "csrf_token": csrf_of(page.text), "action": action, "code": code},
        follow_redirects=False)


def _rewind(db, user_id: int, **changes) -> None:  # type: ignore[no-untyped-def]
    db.expire_all()
    row = db.get(MailFactor, user_id)
    assert row is not None
    for k, v in changes.items():
        setattr(row, k, v)
    db.flush()


def test_the_e_mailed_code_opens_the_space(client, personas, letter, db,
                                           relay) -> None:  # type: ignore[no-untyped-def]
    inbox, use = relay
    use()
    user = personas.users["citizen"]
    service.activate(db, Principal.of(user), ins=INS_NIR, code=letter.code)
    assert not user.totp_confirmed
    assert post_password(client, user.email).status_code == 303
    r = client.get("/espace", follow_redirects=False)
    assert r.headers["location"] == "/espace/second-facteur"
    page = client.get("/espace/second-facteur")
    assert "Recevoir un code par courriel" in page.text

    assert _post(client, "send").headers["location"] == "/espace/second-facteur?ok=sent"
    code = _code(inbox)
    db.expire_all()
    row = db.get(MailFactor, user.id)
    assert row is not None and row.code_hash and code not in row.code_hash  # hashed at rest
    assert len(row.code_hash) == 64
    # Never through the outbox: the code is not kept in clear anywhere.
    assert db.scalar(select(func.count()).select_from(OutboundMail)) == 0
    assert _count(db, "space.mail-code-sent") == 1

    # Too soon for another one.
    assert "attendez%20une%20minute" in _post(client, "send").headers["location"]
    assert len(inbox.messages) == 1
    # A wrong code counts (and is audited), the space stays shut.
    wrong = "000000" if code != "000000" else "111111"
    r = _post(client, "verify", wrong)
    assert "encore%204%20essai" in r.headers["location"]
    assert _count(db, "space.mail-code-failed", "failure") == 1
    assert client.get("/espace", follow_redirects=False).headers["location"] \
        == "/espace/second-facteur"
    # The right one opens it.
    r = _post(client, "verify", f" {code[:3]} {code[3:]} ")
    assert r.headers["location"] == "/espace"
    home = client.get("/espace")
    assert home.status_code == 200 and "Mon espace santé" in home.text
    assert _count(db, "space.mail-code-ok") == 1
    assert client.get("/espace/documents").status_code == 200

    # Single use, and per browser session: a new session asks again, the spent code fails.
    client.cookies.clear()
    assert post_password(client, user.email).status_code == 303
    assert client.get("/espace", follow_redirects=False).headers["location"] \
        == "/espace/second-facteur"
    assert "aucun%20code%20en%20cours" in _post(client, "verify", code).headers["location"]
    assert 'id="mail-chosen"' in client.get("/espace/second-facteur").text  # her choice


def test_expired_locked_or_unconfigured_codes_open_nothing(client, personas, letter, db,
                                                           relay) -> None:  # type: ignore[no-untyped-def]
    inbox, use = relay
    user = personas.users["citizen"]
    service.activate(db, Principal.of(user), ins=INS_NIR, code=letter.code)
    assert post_password(client, user.email).status_code == 303
    # No SMTP relay configured: a clear refusal, nothing stored.
    r = _post(client, "send")
    assert "pas%20configur%C3%A9" in r.headers["location"]
    assert db.get(MailFactor, user.id) is None or not db.get(MailFactor, user.id).code_hash

    use()
    _post(client, "send")
    code = _code(inbox)
    _rewind(db, user.id, expires_at=utcnow() - timedelta(seconds=1))
    assert "code%20expir%C3%A9" in _post(client, "verify", code).headers["location"]

    _rewind(db, user.id, sent_at=utcnow() - timedelta(minutes=2))
    _post(client, "send")
    code = _code(inbox)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        assert f"encore%20{left}%20essai" in _post(client, "verify", wrong).headers["location"]
    assert "ce%20code%20est%20bloqu%C3%A9" in _post(client, "verify", wrong).headers["location"]
    # Locked: even the right code fails now.
    assert quote("trop d'essais") in _post(client, "verify", code).headers["location"]
    assert client.get("/espace", follow_redirects=False).headers["location"] \
        == "/espace/second-facteur"
    assert _count(db, "space.mail-code-ok") == 0
    assert _count(db, "space.mail-code-failed", "failure") == 5

    # Sending is limited too: five codes an hour.
    for _ in range(3):
        _rewind(db, user.id, sent_at=utcnow() - timedelta(minutes=2))
        assert _post(client, "send").headers["location"].endswith("ok=sent")
    _rewind(db, user.id, sent_at=utcnow() - timedelta(minutes=2))
    assert "trop%20de%20codes" in _post(client, "send").headers["location"]
    assert len(inbox.messages) == 5
