"""The threat watch's lines of the policy matrix (see tests/core/policy_base.py).

Inventories: an establishment's security staff keep theirs; its regional agency and the
national cell read it. Advisories: the cell publishes; CLEAR/GREEN ones are read by the whole
cyber community, a RED one only by the cell and the establishments it alerts (404 for the
others of the community). Alerts: read by the establishment, its region and the cell,
followed up by the establishment only. The national patch progress is the cell's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from esante.cyber.threatwatch import inventory, service
from esante.cyber.threatwatch.models import (
    Advisory,
    AffectedProduct,
    Alert,
    AlertEvent,
    InstalledProduct,
)
from esante.cyber.threatwatch.schemas import AdvisoryIn
from tests.core.policy_base import _c, _p

COMMUNITY = frozenset({"rssi_a", "rssi_b", "director_a", "regional", "analyst"})
EST_A = frozenset({"rssi_a", "director_a"})
CELL = frozenset({"analyst"})
A_READERS = EST_A | {"regional", "analyst"}
HTTPD = "cpe:2.3:a:apache:http_server:{v}:*:*:*:*:*:*:*"
OPENSSL = "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*"
CSAF = json.loads((Path(__file__).parents[3] / "src/esante/cyber/threatwatch/data"
                   / "csaf-apache-httpd-2023.json").read_text(encoding="utf-8"))
ADVISORY = {"title": "Serveur HTTP Apache : contournement", "cvss_vector":
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "cve_ids": ["CVE-2023-25690"],
            "affected": [{"cpe": HTTPD.format(v="*"), "versionEndIncluding": "2.4.55"}]}
CSV = b"cpe,nom\ncpe:2.3:a:openssl:openssl:1.1.1t:*:*:*:*:*:*:*,OpenSSL\n"
INV = "/api/cyber/inventories/{finess}"
ADV = "/api/cyber/advisories/{advisory_id}"
ALERT = "/api/cyber/alerts/{alert_id}"
ADV_PAGE = "/cyber/veille/avis/{advisory_id}"

API_CASES = [
    _c("GET", INV, A_READERS, label="/api/cyber/inventories/{A}"),
    _c("GET", INV, frozenset({"rssi_b", "analyst"}), label="/api/cyber/inventories/{B}"),
    _c("POST", INV + "/products", EST_A, label="/api/cyber/inventories/{A}/products",
       ok=(201,), body={"cpe": OPENSSL, "label": "OpenSSL"}),
    _c("DELETE", INV + "/products/{product_id}", EST_A, ok=(204,),
       label="/api/cyber/inventories/{A}/products/{tw_product_a}"),
    _c("POST", INV + "/import", EST_A, label="/api/cyber/inventories/{A}/import",
       extra={"files": {"file": ("inventaire.csv", CSV, "text/csv")}}),
    _c("GET", "/api/cyber/advisories", COMMUNITY),
    _c("POST", "/api/cyber/advisories", CELL, ok=(201,), body=ADVISORY),
    _c("POST", "/api/cyber/advisories/csaf", CELL, ok=(201,), body=CSAF),
    _c("GET", ADV, COMMUNITY, label="/api/cyber/advisories/{tw_adv}"),
    _c("GET", ADV, EST_A | CELL, label="/api/cyber/advisories/{tw_adv_red}",
       denied_for={"rssi_b": 404, "regional": 404}),
    _c("GET", ADV + "/progress", CELL, label="/api/cyber/advisories/{tw_adv}/progress"),
    _c("POST", ADV + "/close", CELL, label="/api/cyber/advisories/{tw_adv}/close"),
    _c("GET", "/api/cyber/alerts", COMMUNITY),
    _c("GET", ALERT, A_READERS, label="/api/cyber/alerts/{tw_alert_a}",
       denied_for={"rssi_b": 404}),
    _c("POST", ALERT + "/status", EST_A, label="/api/cyber/alerts/{tw_alert_a}/status",
       denied_for={"rssi_b": 404}, body={"status": "acknowledged"}),
]

ROLE_PAGES = [
    _p("GET", "/cyber/veille", COMMUNITY),
    _p("GET", "/cyber/veille/avis/nouveau", CELL),
    _p("POST", "/cyber/veille/avis/nouveau", CELL, extra={"to": "/cyber/veille/avis/"},
       body={"title": "Serveur HTTP Apache : contournement", "tlp": "GREEN",
             "affected": HTTPD.format(v="*") + " >=2.4.0 <=2.4.55",
             "cvss_vector": ADVISORY["cvss_vector"], "cve_ids": "CVE-2023-25690"}),
    _p("POST", "/cyber/veille/avis/import", CELL, extra={"to": "/cyber/veille/avis/"},
       body={"document": "{tw_csaf_text}"}),
    _p("GET", ADV_PAGE, COMMUNITY, label="/cyber/veille/avis/{tw_adv}"),
    _p("GET", ADV_PAGE, EST_A | CELL, label="/cyber/veille/avis/{tw_adv_red}",
       denied_for={"rssi_b": 404, "regional": 404}),
    _p("GET", ADV_PAGE + "/avancement", CELL, label="/cyber/veille/avis/{tw_adv}/avancement"),
    _p("POST", ADV_PAGE + "/cloture", CELL, label="/cyber/veille/avis/{tw_adv}/cloture",
       extra={"to": "/cyber/veille/avis/{tw_adv}", "rewrites": True}),
    _p("POST", "/cyber/veille/alertes/{alert_id}", EST_A,
       label="/cyber/veille/alertes/{tw_alert_a}", denied_for={"rssi_b": 404},
       body={"status": "patched", "note": "Mis à jour en 2.4.58."},
       extra={"to": "/cyber/veille/avis/{tw_adv}"}),
    _p("GET", "/cyber/veille/inventaire/{finess}", A_READERS,
       label="/cyber/veille/inventaire/{A}"),
    _p("POST", "/cyber/veille/inventaire/{finess}", EST_A, label="/cyber/veille/inventaire/{A}",
       body={"action": "add", "cpe": OPENSSL, "label": "OpenSSL"},
       extra={"to": "/cyber/veille/inventaire/{A}?ok="}),
]

COUNTED = (InstalledProduct, Advisory, AffectedProduct, Alert, AlertEvent)


def placeholders(targets: Any, name: str) -> dict[str, Any]:
    db = targets.db

    def inventories() -> dict[str, int]:
        def make() -> dict[str, int]:
            out = {}
            for who, key, version in (("rssi_a", "A", "2.4.55"), ("rssi_b", "B", "2.4.41")):
                est = targets.personas.est[key]
                item, _ = inventory.add(db, targets.principal(who), est,
                                        cpe=HTTPD.format(v=version))
                out[key] = item.id
            item, _ = inventory.add(db, targets.principal("rssi_a"), targets.personas.est["A"],
                                    cpe=OPENSSL)
            return out

        return targets.once("tw-inventories", make)  # type: ignore[no-any-return]

    def advisory(kind: str) -> int:
        def make() -> int:
            inventories()
            body = dict(ADVISORY) if kind == "clear" else {
                "title": "OpenSSL : avis restreint", "tlp": "RED",
                "affected": [{"cpe": OPENSSL}]}
            return service.publish(db, targets.principal("analyst"),
                                   AdvisoryIn.model_validate(body)).id

        return targets.once(f"tw-adv-{kind}", make)  # type: ignore[no-any-return]

    def alert_a() -> int:
        adv = advisory("clear")
        est = targets.personas.est["A"]
        return next(a.id for a in db.query(Alert).filter_by(advisory_id=adv,
                                                             establishment_id=est.id))

    return {
        "{tw_product_a}": lambda: inventories()["A"],
        "{tw_adv}": lambda: advisory("clear"),
        "{tw_adv_red}": lambda: advisory("red"),
        "{tw_alert_a}": alert_a,
        "{tw_csaf_text}": lambda: json.dumps(CSAF),
    }
