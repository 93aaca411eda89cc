"""Mailboxes and messages through the services: citizen mailbox only for a qualified INS,
encryption at rest, the trust-space rules, X-MSS headers, XDM, receipts, access."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from esante.core.audit import Actor, AuditEvent
from esante.core.errors import Conflict, Forbidden, Invalid, NotFound
from esante.identity import service as identities
from esante.identity.traits import Traits
from esante.messaging import delivery, mailboxes, mime, reading, xdm
from esante.messaging.models import Delivery, Message, OutboundItem, Receipt
from tests.messaging.conftest import LOINC_CR, cda, principal


def _send(db, personas, who, box, to, **kw):
    draft = mime.Draft(sender="", to=to, subject=kw.pop("subject", "Bonjour"),
                       text=kw.pop("text", "Texte"), **kw)
    return delivery.send(db, principal(personas, who), from_mailbox_id=box.id, draft=draft)


def _inbox(db, personas, who, box):
    return reading.folder(db, principal(personas, who), box, "inbox")


def test_citizen_mailbox_only_for_a_qualified_identity(db, personas, boxes):
    assert boxes.citizen.address == f"{boxes.ins}@patient.mss.esante.localhost"
    p = principal(personas, "clerk_a")
    provisional, _ = identities.create(db, p, finess=personas.est["A"].finess,
                                       traits=Traits("Durand", ["Zoe"], "F", "1999-01-01",
                                                     "75056"))
    with pytest.raises(Conflict, match="qualifiée"):
        mailboxes.open_citizen_mailbox(db, user=personas.users["citizen"], identity=provisional,
                                       actor=Actor.system("t"))
    again = mailboxes.open_citizen_mailbox(db, user=personas.users["citizen"],
                                           identity=boxes.identity, actor=Actor.system("t"))
    assert again.id == boxes.citizen.id


def test_message_is_encrypted_at_rest_and_threaded(db, personas, boxes):
    msg = _send(db, personas, "doctor", boxes.doctor, [boxes.other.address],
                subject="Avis cardiologique", text="Patient vu ce jour, ECG normal")
    assert b"ECG normal" not in msg.raw_enc and b"Avis" not in msg.raw_enc
    [item] = _inbox(db, personas, "other_doctor", boxes.other)
    assert item.parsed.subject == "Avis cardiologique" and "ECG normal" in item.parsed.text
    reply = _send(db, personas, "other_doctor", boxes.other, [boxes.doctor.address],
                  subject="Re: Avis", in_reply_to=msg.message_id)
    assert reply.thread_id == msg.thread_id
    _item, thread = reading.open_message(db, principal(personas, "doctor"),
                                         _inbox(db, personas, "doctor", boxes.doctor)[0].delivery.id)
    assert [t.message.id for t in thread] == [msg.id, reply.id]


def test_nobody_reads_another_mailbox_not_even_the_administrator(db, personas, boxes):
    _send(db, personas, "doctor", boxes.doctor, [boxes.other.address])
    copy = db.scalar(select(Delivery).where(Delivery.mailbox_id == boxes.other.id))
    for who in ("doctor", "admin", "citizen", "outsider"):
        with pytest.raises(Forbidden):
            reading.open_message(db, principal(personas, who), copy.id)
        with pytest.raises(Forbidden):
            reading.folder(db, principal(personas, who), boxes.other)
    # the organisational box is read by its member
    _send(db, personas, "other_doctor", boxes.other, [boxes.service.address])
    assert len(_inbox(db, personas, "doctor", boxes.service)) == 1


def test_only_a_professional_opens_a_conversation_with_a_patient(db, personas, boxes):
    with pytest.raises(Forbidden, match="seul un professionnel"):
        _send(db, personas, "citizen", boxes.citizen, [boxes.doctor.address])
    first = _send(db, personas, "doctor", boxes.doctor, [boxes.citizen.address],
                  subject="Vos résultats")
    reply = _send(db, personas, "citizen", boxes.citizen, [boxes.doctor.address],
                  subject="Merci", in_reply_to=first.message_id)
    assert reply.thread_id == first.thread_id
    with pytest.raises(Forbidden, match="participants"):  # only to those who wrote
        _send(db, personas, "citizen", boxes.citizen, [boxes.other.address],
              in_reply_to=first.message_id)


def test_fin_forbids_the_patients_reply(db, personas, boxes):
    first = _send(db, personas, "doctor", boxes.doctor, [boxes.citizen.address], fin=True)
    raw = reading.raw_of(db, first)
    assert b"X-MSS-MES: FIN" in raw
    with pytest.raises(Forbidden, match="X-MSS-MES: FIN"):
        _send(db, personas, "citizen", boxes.citizen, [boxes.doctor.address],
              in_reply_to=first.message_id)


def test_patients_cannot_write_to_each_other_nor_share_a_message(db, personas, boxes):
    other_patient = "279035121518989@patient.mss.esante.localhost"
    first = _send(db, personas, "doctor", boxes.doctor, [boxes.citizen.address])
    with pytest.raises((Forbidden, NotFound)):
        _send(db, personas, "citizen", boxes.citizen, [other_patient],
              in_reply_to=first.message_id)
    with pytest.raises(Forbidden, match="usager"):
        delivery.accept(db, raw=mime.build(
            mime.Draft(sender="x@ext.example", to=[boxes.citizen.address], subject="s", text="t"),
            domain="patient.ext.example", max_attachment_bytes=10**6, accept_html=True
        ).as_bytes().replace(b"x@ext.example", b"123@patient.ext.example"),
            envelope=delivery.Envelope("123@patient.ext.example", [boxes.citizen.address],
                                       "system"), sender_box=None, actor=Actor.system("t"))


def test_x_mss_ins_is_o_only_for_a_qualified_ins_and_xdm_round_trip(db, personas, boxes):
    with pytest.raises(Invalid, match="pas qualifiée"):  # an INS nobody vouched for
        _send(db, personas, "doctor", boxes.doctor, [boxes.other.address],
              cdas=[cda(ins=boxes.ins)])
    msg = _send(db, personas, "doctor", boxes.doctor, [boxes.other.address], cdas=[cda()])
    with pytest.raises((Forbidden, NotFound)):  # B's doctor does not reach A's identities
        delivery.send(db, principal(personas, "other_doctor"), from_mailbox_id=boxes.other.id,
                      draft=mime.Draft("", [boxes.doctor.address], "s", "t"),
                      patient_identity_id=boxes.identity.id)
    assert (msg.mss_ins, msg.mss_codecda) == ("N", LOINC_CR)  # local identifier only
    clerk_box = mailboxes.create(db, principal(personas, "admin"), kind="personal",
                                 local_part="accueil.a", display_name="Accueil A",
                                 owner_email="clerk_a@test.esante.fr")
    draft = mime.Draft("", [boxes.other.address], "Lettre de liaison", "Ci-joint",
                       cdas=[cda(ins=boxes.ins)])
    sent = delivery.send(db, principal(personas, "clerk_a"), from_mailbox_id=clerk_box.id,
                         draft=draft, patient_identity_id=boxes.identity.id)
    assert (sent.mss_ins, sent.mss_codecda) == ("O", LOINC_CR)
    parsed = reading.decode(db, sent)
    [zipped] = [a for a in parsed.attachments if a.filename == "IHE_XDM.ZIP"]
    [info] = xdm.unpack(zipped.data)
    assert (info.code, info.ins) == (LOINC_CR, boxes.ins)
    # a document carrying an INS, the identity not qualified: refused
    provisional, _ = identities.create(db, principal(personas, "clerk_a"),
                                       finess=personas.est["A"].finess,
                                       traits=Traits("Durand", ["Zoe"], "F", "1999-01-01",
                                                     "75056"))
    with pytest.raises(Invalid, match="pas qualifiée"):
        delivery.send(db, principal(personas, "clerk_a"), from_mailbox_id=clerk_box.id,
                      draft=mime.Draft("", [boxes.other.address], "s", "t",
                                       cdas=[cda(ins=boxes.ins)]),
                      patient_identity_id=provisional.id)


def test_headers_honoured_on_receipt(db, personas, boxes):
    base = mime.build(mime.Draft(sender="dr@ext.example", to=[boxes.doctor.address],
                                 subject="s", text="t", cdas=[cda()]),
                      domain="ext.example", max_attachment_bytes=10**6, accept_html=True)
    base.replace_header("X-MSS-INS", "O")
    with pytest.raises(Invalid, match="X-MSS-INS: O"):
        mime.parse(base.as_bytes())
    base.replace_header("X-MSS-INS", "N")
    base.replace_header("X-MSS-CODECDA", "34133-9")
    with pytest.raises(Invalid, match="X-MSS-CODECDA"):
        mime.parse(base.as_bytes())


def test_attachments_checked(db, personas, boxes):
    with pytest.raises(Invalid, match="ne correspond pas"):
        _send(db, personas, "doctor", boxes.doctor, [boxes.other.address],
              attachments=[mime.Attachment("cr.pdf", "application/pdf", b"MZ\x90\x00exe")])
    with pytest.raises(Invalid, match="non accepté"):
        _send(db, personas, "doctor", boxes.doctor, [boxes.other.address],
              attachments=[mime.Attachment("a.exe", "application/x-msdownload", b"MZ")])
    ok = _send(db, personas, "doctor", boxes.doctor, [boxes.other.address],
               attachments=[mime.Attachment("cr.pdf", "application/pdf", b"%PDF-1.4 test")],
               html='<p onclick="x()">Bonjour <script>alert(1)</script><b>gras</b></p>')
    parsed = reading.decode(db, ok)
    assert "script" not in parsed.html and "onclick" not in parsed.html and "<b>gras</b>" in parsed.html


def test_unknown_and_untrusted_recipients(db, personas, boxes):
    with pytest.raises(NotFound, match="inconnu"):
        _send(db, personas, "doctor", boxes.doctor, ["nobody@mss.esante.localhost"])
    with pytest.raises(Forbidden, match="espace de confiance"):
        _send(db, personas, "doctor", boxes.doctor, ["dr@gmail.com"])
    mailboxes.add_domain(db, principal(personas, "admin"), domain="mss.autre-operateur.fr",
                         operator="Autre")
    msg = _send(db, personas, "doctor", boxes.doctor, ["dr@mss.autre-operateur.fr"])
    [queued] = db.scalars(select(OutboundItem).where(OutboundItem.message_pk == msg.id)).all()
    assert (queued.state, queued.domain) == ("queued", "mss.autre-operateur.fr")
    assert db.scalar(select(Message).where(Message.id == msg.id)) is not None


def test_read_receipt_and_exactly_once(db, personas, boxes):
    msg = _send(db, personas, "doctor", boxes.doctor, [boxes.other.address], want_mdn=True)
    again = delivery.accept(db, raw=reading.raw_of(db, msg),
                            envelope=delivery.Envelope(boxes.doctor.address,
                                                       [boxes.other.address], "submission"),
                            sender_box=boxes.doctor, actor=Actor.system("t"))
    assert again.id == msg.id
    [item] = _inbox(db, personas, "other_doctor", boxes.other)
    reading.open_message(db, principal(personas, "other_doctor"), item.delivery.id)
    kinds = [r.kind for r in db.scalars(select(Receipt).where(Receipt.message_pk == msg.id))]
    assert kinds == ["delivered", "displayed"]
    mdn = [i for i in _inbox(db, personas, "doctor", boxes.doctor) if i.message.report_kind]
    assert len(mdn) == 1 and mdn[0].message.report_kind == "mdn"
    # opening again, even after marking it unread, sends no second receipt
    reading.open_message(db, principal(personas, "other_doctor"), item.delivery.id)
    copy = reading.mark_unread(db, principal(personas, "other_doctor"), item.delivery.id)
    assert copy.read_at is None and reading.unread(db, principal(personas, "other_doctor")) == 1
    reading.open_message(db, principal(personas, "other_doctor"), item.delivery.id)
    assert copy.read_at is not None
    assert db.scalar(select(Receipt).where(Receipt.message_pk == msg.id,
                                           Receipt.kind == "displayed").offset(1)) is None
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "messaging.message.read"))
    assert len(reads.all()) == 3
    sent = db.scalars(select(Delivery).where(Delivery.mailbox_id == boxes.doctor.id,
                                             Delivery.folder == "sent")).first()
    with pytest.raises(Invalid, match="seul un message reçu"):
        reading.mark_unread(db, principal(personas, "doctor"), sent.id)


def test_links_and_attachments_checked_against_shared_indicators(db, personas, boxes):
    from esante.cyber.indicators import service as indicators
    from esante.cyber.indicators.schemas import EventIn

    pdf = b"%PDF-1.4 piege"
    indicators.create_event(db, principal(personas, "rssi_a"), EventIn.model_validate(
        {"title": "Campagne d'hameçonnage", "tlp": "green", "scope": "national",
         "source_finess": personas.est["A"].finess,
         "indicators": [{"value": "evil-cdn.net"},
                        {"value": hashlib.sha256(pdf).hexdigest()}]}))
    boxes.other.finess = personas.est["B"].finess
    _send(db, personas, "doctor", boxes.doctor, [boxes.other.address],
          text="Voir https://login.evil-cdn.net/connexion?x=1 et https://ameli.fr/",
          attachments=[mime.Attachment("facture.pdf", "application/pdf", pdf)])
    [item] = _inbox(db, personas, "other_doctor", boxes.other)
    lines = item.delivery.safety.splitlines()
    assert len(lines) == 2 and any("evil-cdn[.]net" in x for x in lines)
    assert all("Campagne d'hameçonnage" in x for x in lines)
    _send(db, personas, "doctor", boxes.doctor, [boxes.other.address], text="https://ameli.fr/")
    clean = _inbox(db, personas, "other_doctor", boxes.other)[0]
    assert clean.delivery.safety == ""


def test_mailboxes_of_no_establishment_checked_against_what_everyone_may_see(
        db, personas, boxes):
    """A professional's mailbox of no establishment: TLP:CLEAR and TLP:GREEN shared
    nationally; a citizen's: TLP:CLEAR only; never what a region keeps to itself."""
    from esante.cyber.indicators import service as indicators
    from esante.cyber.indicators.schemas import EventIn

    for title, tlp, scope, domain in (("Publique", "clear", "national", "clear-phish.net"),
                                      ("Nationale", "green", "national", "green-phish.net"),
                                      ("Régionale", "green", "region", "region-phish.net")):
        indicators.create_event(db, principal(personas, "rssi_a"), EventIn.model_validate(
            {"title": title, "tlp": tlp, "scope": scope, "indicators": [{"value": domain}],
             "source_finess": personas.est["A"].finess}))
    assert not boxes.other.finess
    text = " ".join(f"https://www.{d}/x" for d in ("clear-phish.net", "green-phish.net",
                                                      "region-phish.net"))
    _send(db, personas, "doctor", boxes.doctor, [boxes.other.address, boxes.citizen.address],
          text=text)
    [professional] = _inbox(db, personas, "other_doctor", boxes.other)
    assert sorted(x.split("« ")[2].split(" »")[0] for x in
                  professional.delivery.safety.splitlines()) == ["Nationale", "Publique"]
    [citizen] = _inbox(db, personas, "citizen", boxes.citizen)
    assert [x.split("« ")[2].split(" »")[0] for x in
            citizen.delivery.safety.splitlines()] == ["Publique"]


def test_parse_decodes_what_mail_clients_send():
    """Encoded words (subject, file name), RFC 2231 file names, raw UTF-8 headers, folded
    headers and several To/Cc: read as the modern policy would, without its cost."""
    raw = (b"Message-ID: <1@ext.example>\r\nFrom: =?utf-8?q?Dr_=C3=89lise?= <dr@ext.example>\r\n"
           b"To: A <a@ext.example>,\r\n B <b@ext.example>\r\nCc: c@ext.example\r\n"
           b"To: d@ext.example\r\n"
           b"Subject: =?utf-8?b?Q29tcHRlIHJlbmR1IMOpY2hvZ3JhcGhpZQ==?=\r\n"
           b"References: <r1@x>\r\n\t<r2@x>\r\nX-MSS-NIL: DEV1\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nD\xe9j\xe0 vu\r\n"
           b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment; filename*=utf-8''%C3%A9cho.pdf\r\n\r\n"
           b"JVBERi0xLjQ=\r\n"
           b"--b\r\nContent-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n")
    parsed = mime.parse(raw)
    assert parsed.sender == "dr@ext.example"
    assert parsed.to == ["a@ext.example", "b@ext.example", "c@ext.example", "d@ext.example"]
    assert parsed.subject == "Compte rendu échographie"
    assert parsed.references == ["<r1@x>", "<r2@x>"] and parsed.nil == "DEV1"
    assert parsed.text.strip() == "Déjà vu"
    assert [(a.filename, a.data) for a in parsed.attachments] == [
        ("écho.pdf", b"%PDF-1.4"), ("résumé.pdf", b"%PDF-1.4")]
    utf8 = raw.replace(b"Subject: =?utf-8?b?Q29tcHRlIHJlbmR1IMOpY2hvZ3JhcGhpZQ==?=",
                       "Subject: Compte rendu échographie".encode())
    assert mime.parse(utf8).subject == "Compte rendu échographie"
    with pytest.raises(Invalid, match="mal formé"):
        mime.parse(raw.replace(b"--b--", b"--c--"))  # the closing boundary never comes


def test_a_mailbox_of_an_establishment_names_a_known_finess(db, personas, boxes):
    admin = principal(personas, "admin")
    with pytest.raises(NotFound, match="FINESS 999999999 inconnu"):
        mailboxes.create(db, admin, kind="organisational", local_part="urgences",
                         display_name="Urgences", finess="999999999")
    est = personas.est["A"]
    box = mailboxes.create(db, admin, kind="organisational", local_part="urgences",
                           display_name="Urgences", finess=est.finess)
    assert box.establishment == est.name  # the directory names it
