"""X-MSS-NIL (Référentiel socle MSSanté #2, ECO.2.4.3): on every message the platform
composes, the product reference of the sending software (ours, ESANTE_MSS_PRODUCT_REF, or
an API client's own); on receipt it is kept as it came (relayed unchanged), shown, and
counted per software for the operator; a malformed value is a malformed header. X-MSS-INS
travels only with a CDA document (ECO.2.4.2)."""

from __future__ import annotations

import email
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.errors import Forbidden, Invalid
from esante.messaging import delivery, mailboxes, mime, reading
from esante.messaging.config import get_mss_settings
from tests.core.test_auth import login
from tests.messaging.conftest import cda, principal

REF = "DEV935997"
PEER = "mss.autre-operateur.fr"


@pytest.fixture
def product_ref(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ESANTE_MSS_PRODUCT_REF", REF)
    get_mss_settings.cache_clear()
    yield REF
    get_mss_settings.cache_clear()


def _headers(db: Session, message) -> email.message.Message:  # type: ignore[no-untyped-def]
    return email.message_from_bytes(reading.raw_of(db, message))


def test_every_composed_message_carries_the_product_reference(db, personas, boxes, product_ref):
    p = principal(personas, "doctor")
    plain = delivery.send(db, p, from_mailbox_id=boxes.doctor.id, draft=mime.Draft(
        "", [boxes.other.address], "Sans document", "Texte"))
    head = _headers(db, plain)
    assert head["X-MSS-NIL"] == REF and plain.mss_nil == REF
    assert "X-MSS-INS" not in head and "X-MSS-CODECDA" not in head  # no CDA, no such header
    with_cda = delivery.send(db, p, from_mailbox_id=boxes.doctor.id, draft=mime.Draft(
        "", [boxes.other.address], "Lettre", "Ci-joint", cdas=[cda()]))
    head = _headers(db, with_cda)
    assert (head["X-MSS-NIL"], head["X-MSS-INS"]) == (REF, "N")
    # An API client (software sending reports) names itself.
    own = delivery.send(db, p, from_mailbox_id=boxes.doctor.id, draft=mime.Draft(
        "", [boxes.other.address], "Compte rendu", "Texte", nil="LPS-42.1"), via="api")
    assert _headers(db, own)["X-MSS-NIL"] == "LPS-42.1"
    with pytest.raises(Invalid, match="X-MSS-NIL"):
        delivery.send(db, p, from_mailbox_id=boxes.doctor.id, draft=mime.Draft(
            "", [boxes.other.address], "s", "t", nil="deux mots"), via="api")


def test_without_a_reference_nothing_is_invented(db, personas, boxes):
    get_mss_settings.cache_clear()
    msg = delivery.send(db, principal(personas, "doctor"), from_mailbox_id=boxes.doctor.id,
                        draft=mime.Draft("", [boxes.other.address], "s", "t"))
    assert "X-MSS-NIL" not in _headers(db, msg) and msg.mss_nil == ""


def _from_peer(nil: str, to: str) -> bytes:
    msg = mime.build(mime.Draft(sender=f"dr.x@{PEER}", to=[to], subject="De l'extérieur",
                                text="t"), domain=PEER, max_attachment_bytes=10**6,
                     accept_html=True)
    msg["X-MSS-NIL"] = nil
    return msg.as_bytes()


def test_received_reference_kept_shown_and_counted(client, db, personas, boxes):
    mailboxes.add_domain(db, principal(personas, "admin"), domain=PEER, operator="Autre")
    raw = _from_peer("EXT-LPS-7", boxes.other.address)
    msg = delivery.accept(db, raw=raw, envelope=delivery.Envelope(
        f"dr.x@{PEER}", [boxes.other.address], "relay"), sender_box=None,
        actor=Actor.system("t"))
    assert msg.mss_nil == "EXT-LPS-7" and reading.raw_of(db, msg) == raw  # kept as it came
    with pytest.raises(Invalid, match="X-MSS-NIL") as bad:
        delivery.accept(db, raw=_from_peer("pas une référence !", boxes.other.address),
                        envelope=delivery.Envelope(f"dr.x@{PEER}", [boxes.other.address],
                                                   "relay"),
                        sender_box=None, actor=Actor.system("t"))
    assert bad.value.code == "mss-header"  # answered 550 5.6.0 by the gateway

    counts = mailboxes.sending_software(db, principal(personas, "admin"), days=7)
    assert ("EXT-LPS-7", "relay", 1) in counts
    with pytest.raises(Forbidden):
        mailboxes.sending_software(db, principal(personas, "doctor"))

    login(client, personas, "other_doctor")
    inbox = client.get("/messagerie")
    link = inbox.text.split('href="/messagerie/messages/')[1].split('"')[0]
    assert "Logiciel émetteur EXT-LPS-7" in client.get(f"/messagerie/messages/{link}").text
    listed = client.get(f"/api/messaging/mailboxes/{boxes.other.id}/messages",
                        headers=personas.auth("other_doctor"))
    assert listed.status_code == 200, listed.text
    assert listed.json()[0]["x_mss_nil"] == "EXT-LPS-7"


def test_api_refuses_a_malformed_reference(client, personas, boxes):
    r = client.post("/api/messaging/messages", headers=personas.auth("doctor"), json={
        "from_mailbox_id": boxes.doctor.id, "to": [boxes.other.address], "subject": "s",
        "text": "t", "nil": "pas une référence"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(
        "application/problem+json")


def test_software_command(db, personas, boxes, product_ref):  # type: ignore[no-untyped-def]
    from contextlib import contextmanager
    from unittest import mock

    from typer.testing import CliRunner

    from esante.cli import app

    @contextmanager
    def transaction():  # type: ignore[no-untyped-def]
        yield db  # the test's own transaction

    def run(*args: str) -> tuple[int, str]:
        with mock.patch("esante.core.db.transaction", transaction):
            out = CliRunner().invoke(app, ["messaging", "software", *args],
                                     env={"COLUMNS": "200"})
        return out.exit_code, out.output

    delivery.send(db, principal(personas, "doctor"), from_mailbox_id=boxes.doctor.id,
                  draft=mime.Draft("", [boxes.other.address], "s", "t"))
    admin = personas.users["admin"].email
    assert run("--days", "0", "--as", admin) == (1, "erreur : période : de 1 à 3660 jours\n")
    assert run("--as", personas.users["doctor"].email)[0] == 1  # not an administrator
    code, out = run("--as", admin)
    assert code == 0 and f"{REF}" in out and "web" in out and "message(s) en 30 jour(s)" in out
