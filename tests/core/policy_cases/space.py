"""The citizen space's lines of the policy matrix. No persona holds an active space here:
every route of a space refuses them all (403, nothing written), the letter's routes give
the citizen a precise error (a wrong code) and refuse the others. What the holder does in
her space, and that nobody else reaches it, is tested in tests/space/."""

from __future__ import annotations

from typing import Any

from esante.space.models import Guardianship, MailFactor, Reminder, SessionState, Space
from tests.core.policy_base import REFUSED_ON_PAGE, Case, _c, _p

CITIZEN = frozenset({"citizen"})
ADMIN = frozenset({"admin"})
NOBODY: frozenset[str] = frozenset()
LETTER = {"ins": "279035121518989", "code": "AAAA-BBBB-CCCC"}
PNG = {"files": {"file": ("x.png", b"\x89PNG\r\n\x1a\n", "image/png")}}
TO_LETTER = {"redirects": {"citizen": "/espace/courrier"}}

API_CASES: list[Case] = [
    _c("GET", "/api/space", NOBODY),
    _c("POST", "/api/space/activate", NOBODY, denied_for={"citizen": 422}, body=LETTER),
    _c("POST", "/api/space/objection", NOBODY, denied_for={"citizen": 422}, body=LETTER),
    _c("POST", "/api/space/objection/withdraw", NOBODY, denied_for={"citizen": 422},
       body=LETTER),
    _c("GET", "/api/space/documents", NOBODY),
    _c("POST", "/api/space/documents", NOBODY, extra=PNG),
    _c("GET", "/api/space/documents/{fid}/content", NOBODY,
       label="/api/space/documents/doc-1/content"),
    _c("POST", "/api/space/documents/{fid}/hide", NOBODY,
       label="/api/space/documents/doc-1/hide", body={"hidden": True}),
    _c("GET", "/api/space/privacy", NOBODY),
    _c("POST", "/api/space/privacy/blocks", NOBODY, body={"rpps": "10000000015"}),
    _c("POST", "/api/space/privacy/blocks/{rpps}/remove", NOBODY,
       label="/api/space/privacy/blocks/10000000015/remove"),
    _c("POST", "/api/space/privacy/care-team", NOBODY, body={"rpps": "10000000015"}),
    _c("GET", "/api/space/access-history", NOBODY),
    _c("GET", "/api/space/access-history.csv", NOBODY),
    _c("GET", "/api/space/export", NOBODY),
    _c("POST", "/api/space/close", NOBODY, body={"confirm": True}),
    _c("GET", "/api/space/profile", NOBODY),
    _c("POST", "/api/space/profile/{section}", NOBODY, label="/api/space/profile/allergies",
       body={"text": "Pénicilline"}),
    _c("GET", "/api/space/measurements/{kind}", NOBODY, label="/api/space/measurements/poids"),
    _c("POST", "/api/space/measurements/{kind}", NOBODY, label="/api/space/measurements/poids",
       body={"value": 70}),
    _c("GET", "/api/space/appointments", NOBODY),
    _c("POST", "/api/space/appointments", NOBODY,
       body={"start": "2030-01-02T09:00:00+01:00", "what": "Dentiste"}),
    # guardians: recorded by an agent (an unknown record: 404 past the gate), used by them
    _c("POST", "/api/space/guardians", ADMIN, ok=(404,),
       body={"patient": "inconnu", "email": "x@example.org", "proof": "livret de famille",
             "since": "2020-01-01"}),
    _c("POST", "/api/space/guardians/{gid}/remove", ADMIN, ok=(404,),
       label="/api/space/guardians/999999/remove"),
    _c("GET", "/api/space/minors", CITIZEN),
    _c("GET", "/api/space/minors/{patient_fid}", NOBODY, label="/api/space/minors/inconnu"),
    _c("GET", "/api/space/minors/{patient_fid}/documents", NOBODY,
       label="/api/space/minors/inconnu/documents"),
    # the research objection: the holder of an active space only
    _c("GET", "/api/space/research-objection", NOBODY),
    _c("POST", "/api/space/research-objection", NOBODY),
    _c("POST", "/api/space/research-objection/withdraw", NOBODY),
]

ROLE_PAGES: list[Case] = [
    _p("GET", "/espace/courrier", CITIZEN),
    _p("POST", "/espace/courrier", NOBODY, denied_for={"citizen": REFUSED_ON_PAGE},
       body={**LETTER, "action": "activate"}),
    _p("GET", "/espace", CITIZEN, extra=TO_LETTER),
    _p("GET", "/espace/documents", CITIZEN, extra=TO_LETTER),
    _p("POST", "/espace/documents", CITIZEN, extra=TO_LETTER, body={"category": "autre"}),
    _p("GET", "/espace/documents/{fid}", CITIZEN, label="/espace/documents/doc-1",
       extra=TO_LETTER),
    _p("POST", "/espace/documents/{fid}/masquer", CITIZEN,
       label="/espace/documents/doc-1/masquer", extra=TO_LETTER, body={"hidden": "1"}),
    _p("GET", "/espace/confidentialite", CITIZEN, extra=TO_LETTER),
    _p("POST", "/espace/confidentialite", CITIZEN, extra=TO_LETTER,
       body={"action": "block", "rpps": "10000000015"}),
    _p("GET", "/espace/historique", CITIZEN, extra=TO_LETTER),
    _p("GET", "/espace/historique.csv", CITIZEN, extra=TO_LETTER),
    _p("GET", "/espace/cloture", CITIZEN, extra=TO_LETTER),
    _p("GET", "/espace/cloture/archive.zip", CITIZEN, extra=TO_LETTER),
    _p("POST", "/espace/cloture", CITIZEN, extra=TO_LETTER, body={"confirm": "oui"}),
    _p("GET", "/espace/profil", CITIZEN, extra=TO_LETTER),
    _p("POST", "/espace/profil", CITIZEN, extra=TO_LETTER,
       body={"action": "measure", "kind": "poids", "value": "70"}),
    _p("GET", "/espace/profil/mesures/{kind}", CITIZEN, label="/espace/profil/mesures/poids",
       extra=TO_LETTER),
    # the professional's side: an unknown record is 404 for professionals, 403 for others
    _p("GET", "/espace/pro/{patient_fid}", NOBODY, label="/espace/pro/inconnu",
       denied_for={"doctor": 404, "other_doctor": 404}),
    _p("POST", "/espace/pro/{patient_fid}/urgence", NOBODY, label="/espace/pro/inconnu/urgence",
       denied_for={"doctor": 404, "other_doctor": 404},
       body={"reason": "patient inconscient aux urgences"}),
    _p("GET", "/espace/agenda", CITIZEN, extra=TO_LETTER),
    # whose space (guardians, former guardians), the second factor, the research objection
    _p("POST", "/espace/changer", CITIZEN, body={"espace": ""}, extra={"to": "/espace"}),
    _p("GET", "/espace/tuteurs", CITIZEN, extra=TO_LETTER),
    _p("POST", "/espace/tuteurs", CITIZEN, extra=TO_LETTER,
       body={"action": "grant", "guardian": "1"}),
    _p("GET", "/espace/second-facteur", CITIZEN),
    _p("POST", "/espace/second-facteur", NOBODY, denied_for={"citizen": REFUSED_ON_PAGE},
       body={"action": "verify", "code": "123456"}),  # no code was sent
    _p("POST", "/espace/recherche", CITIZEN, extra=TO_LETTER, body={"action": "object"}),
    _p("POST", "/espace/agenda", CITIZEN, extra=TO_LETTER,
       body={"day": "2030-01-02", "hour": "09:00", "what": "Dentiste"}),
]

COUNTED: tuple[Any, ...] = (Space, Reminder, Guardianship, MailFactor, SessionState)
