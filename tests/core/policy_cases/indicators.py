"""Policy matrix lines of indicator sharing (/api/cyber/indicators, /cyber/indicateurs) and
phishing reports (/api/cyber/phishing, /cyber/hameconnage).

Indicators: the board is the cyber community (establishments' security staff, agencies,
cell); an event one may not see under TLP does not exist (404); sharing is for the source
establishment's security officer or the cell. Phishing: anyone working in an establishment
reports for it; a report is read by its reporter, the establishment's security officer and
director, and the cell (404 for everyone else); the officer or the cell publishes from it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from esante.cyber.indicators import service as indicators
from esante.cyber.indicators.models import Indicator, IocEvent, IocEventRecipient, Sighting
from esante.cyber.indicators.schemas import EventIn
from esante.cyber.indicators.taxii import COLLECTION_ID
from esante.cyber.phishing import service as phishing
from esante.cyber.phishing.models import PhishingReport
from tests.core.policy_base import FORM_AGAIN, REFUSED_ON_PAGE, Case, _c, _p

BOARD = frozenset({"rssi_a", "rssi_b", "director_a", "regional", "analyst"})
A_STAFF = frozenset({"rssi_a", "director_a"})
CELL = frozenset({"analyst"})
SHARERS = frozenset({"rssi_a", "rssi_b", "analyst"})  # a security officer, the cell
WORKS_AT_A = frozenset({"doctor", "rssi_a", "director_a", "clerk_a", "idv_a"})
REPORTERS = WORKS_AT_A | {"other_doctor", "rssi_b", "analyst"}
REPORT_READERS = frozenset({"doctor", "rssi_a", "director_a", "analyst"})
HIDDEN_FROM_BOARD = {"rssi_b": 404, "regional": 404}  # the AMBER+STRICT event of A
SEE_BUT_NOT_MANAGE = {"director_a": 403, "rssi_b": 403, "regional": 403}
EML = (Path(__file__).resolve().parents[2] / "cyber" / "data" / "ceo_fraud.eml").read_bytes()
MISP = (b'{"Event": {"info": "Import de la matrice", "Tag": [{"name": "tlp:green"}], '
        b'"Attribute": [{"type": "domain", "value": "matrix-import.example.net"}]}}')
EV = "/api/cyber/indicators/events/{event_id}"
TAXII_COLLECTION = f"/api/taxii2/cyber/collections/{COLLECTION_ID}/"
PH = "/api/cyber/phishing/{report_id}"
EV_PAGE = "/cyber/indicateurs/{event_id}"
PH_PAGE = "/cyber/hameconnage/{report_id}"


def _ev(method: str, suffix: str, allowed: frozenset[str], *, at: str = "{ioc_national}",
        **kw: Any) -> Case:
    return _c(method, EV + suffix, allowed, label=f"/api/cyber/indicators/events/{at}{suffix}",
              **kw)


API_CASES: list[Case] = [
    _c("GET", "/api/cyber/indicators/events", BOARD),
    _c("POST", "/api/cyber/indicators/events", frozenset({"rssi_a"}), ok=(201,),
       label="/api/cyber/indicators/events (A)",
       body={"source_finess": "{A}", "title": "Hameçonnage régional", "tlp": "amber",
             "scope": "region", "indicators": [{"value": "matrix-phish.example.com"}]}),
    _c("POST", "/api/cyber/indicators/events", CELL, ok=(201,),
       label="/api/cyber/indicators/events (cellule)",
       body={"title": "Alerte nationale", "tlp": "green", "scope": "national",
             "indicators": [{"value": "203.0.114.7"}]}),
    _ev("GET", "", BOARD),
    _ev("GET", "", A_STAFF | CELL, at="{ioc_strict}", denied_for=HIDDEN_FROM_BOARD),
    _ev("POST", "/indicators", frozenset({"rssi_a", "analyst"}), ok=(201,),
        denied_for=SEE_BUT_NOT_MANAGE, body={"indicators": [{"value": "more.example.org"}]}),
    _ev("POST", "/withdraw", frozenset({"rssi_a", "analyst"}), denied_for=SEE_BUT_NOT_MANAGE),
    _ev("POST", "/withdraw", frozenset({"rssi_a", "analyst"}), at="{ioc_strict}",
        denied_for={**HIDDEN_FROM_BOARD, "director_a": 403}),
    _c("GET", "/api/cyber/indicators/search", BOARD,
       label="/api/cyber/indicators/search?value=matrix-national.example.com"),
    _c("POST", "/api/cyber/indicators/{indicator_id}/sightings",
       frozenset({"rssi_a", "rssi_b", "director_a", "analyst"}), ok=(201,),
       label="/api/cyber/indicators/{ioc_indicator}/sightings", body={"kind": "seen"}),
    _c("GET", "/api/cyber/indicators/counts", BOARD),
    _c("GET", "/api/cyber/indicators/export", BOARD,
       label="/api/cyber/indicators/export?format=stix"),
    _c("POST", "/api/cyber/indicators/import", CELL, ok=(201,),
       label="/api/cyber/indicators/import?format=misp&tlp=green&scope=national",
       extra={"files": {"file": ("event.json", MISP, "application/json")}}),
    # TAXII 2.1 (read only, same TLP rule): the board
    _c("GET", "/api/taxii2/", BOARD),
    _c("GET", "/api/taxii2/cyber/", BOARD),
    _c("GET", "/api/taxii2/cyber/collections/", BOARD),
    _c("GET", "/api/taxii2/cyber/collections/{collection_id}/", BOARD, label=TAXII_COLLECTION),
    _c("GET", "/api/taxii2/cyber/collections/{collection_id}/objects/", BOARD,
       label=TAXII_COLLECTION + "objects/"),
    # phishing reports
    _c("POST", "/api/cyber/phishing", WORKS_AT_A, ok=(201,),
       label="/api/cyber/phishing?finess={A}",
       extra={"files": {"file": ("message.eml", EML, "message/rfc822")}}),
    _c("GET", "/api/cyber/phishing", REPORTERS),
    _c("GET", "/api/cyber/phishing/counts", BOARD),
    _c("GET", PH, REPORT_READERS, label="/api/cyber/phishing/{phish}", denied=404),
    _c("POST", PH + "/publish", frozenset({"rssi_a", "analyst"}), ok=(201,),
       label="/api/cyber/phishing/{phish}/publish", denied=404,
       denied_for={"doctor": 403, "director_a": 403},
       body={"title": "Fraude au président", "values": ["outlook-mail.net"], "tlp": "green",
             "scope": "national"}),
]

ROLE_PAGES: list[Case] = [
    _p("GET", "/cyber/indicateurs", BOARD),
    _p("GET", "/cyber/indicateurs/nouveau", SHARERS),
    _p("POST", "/cyber/indicateurs/nouveau", frozenset({"rssi_a"}),
       denied_for={"rssi_b": FORM_AGAIN, "analyst": FORM_AGAIN},
       body={"source_finess": "{A}", "title": "Campagne régionale", "tlp": "amber",
             "scope": "region", "indicators": "matrix-page.example.com relais\n198.51.100.9"},
       extra={"to": "/cyber/indicateurs/"}),
    _p("GET", "/cyber/indicateurs/export", BOARD, label="/cyber/indicateurs/export?format=csv"),
    _p("GET", "/cyber/indicateurs/import", SHARERS),
    _p("GET", EV_PAGE, BOARD, label="/cyber/indicateurs/{ioc_national}"),
    _p("GET", EV_PAGE, A_STAFF | CELL, label="/cyber/indicateurs/{ioc_strict}",
       denied_for=HIDDEN_FROM_BOARD),
    _p("POST", EV_PAGE + "/action", frozenset({"rssi_a", "rssi_b", "director_a", "analyst"}),
       label="/cyber/indicateurs/{ioc_national}/action",
       denied_for={"regional": REFUSED_ON_PAGE},
       body={"action": "seen", "indicator_id": "{ioc_indicator}"},
       extra={"to": "/cyber/indicateurs/{ioc_national}"}),
    _p("POST", EV_PAGE + "/action", frozenset({"rssi_a", "analyst"}),
       label="/cyber/indicateurs/{ioc_national}/action (withdraw)",
       denied_for=dict.fromkeys(("rssi_b", "director_a", "regional"), REFUSED_ON_PAGE),
       body={"action": "withdraw"}, extra={"to": "/cyber/indicateurs/{ioc_national}"}),
    _p("GET", "/cyber/hameconnage", REPORTERS),
    _p("GET", PH_PAGE, REPORT_READERS, label="/cyber/hameconnage/{phish}", denied=404),
    _p("POST", PH_PAGE + "/action", frozenset({"rssi_a", "analyst"}), denied=404,
       label="/cyber/hameconnage/{phish}/action",
       denied_for={"doctor": REFUSED_ON_PAGE, "director_a": REFUSED_ON_PAGE},
       body={"action": "publish", "title": "Fraude au président", "values": "outlook-mail.net",
             "tlp": "green", "scope": "national"},
       extra={"to": "/cyber/indicateurs/"}),
]

# Upload forms: the matrix posts url-encoded forms; their policy (allowed and refused
# personas, nothing written on refusal) is tested with a real file in the domain's tests.
OTHER_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/cyber/hameconnage"): "tests/cyber/test_phishing_pages.py::test_upload_policy",
    ("POST", "/cyber/indicateurs/import"):
        "tests/cyber/test_phishing_pages.py::test_import_page_policy",
}

COUNTED = (IocEvent, Indicator, IocEventRecipient, Sighting, PhishingReport)


def placeholders(targets: Any, name: str) -> dict[str, Callable[[], object]]:
    personas = targets.personas
    a = personas.est["A"].finess

    def event(key: str, **fields: Any) -> int:
        def make() -> int:
            body = EventIn.model_validate({"source_finess": a, **fields})
            return indicators.create_event(targets.db, targets.principal("rssi_a"), body).id
        return targets.once(key, make)  # type: ignore[no-any-return]

    def national() -> int:
        return event("ioc_national", title="Campagne nationale", tlp="green", scope="national",
                     indicators=[{"value": "matrix-national.example.com"}])

    def strict() -> int:
        return event("ioc_strict", title="Interne au CHU", tlp="amber+strict",
                     scope="establishment", indicators=[{"value": "10.9.8.7"}])

    def indicator() -> int:
        ev = targets.db.get(IocEvent, national())
        return indicators.indicators_of(targets.db, ev)[0].id  # type: ignore[no-any-return]

    def phish() -> int:
        return targets.once("phish", lambda: phishing.submit(  # type: ignore[no-any-return]
            targets.db, targets.principal("doctor"), finess=a, raw=EML).id)

    return {"{ioc_national}": national, "{ioc_strict}": strict, "{ioc_indicator}": indicator,
            "{phish}": phish}



