"""The directory as FHIR: each listed professional mailbox is published as a
``PractitionerRole`` (RPPS identifier, profession as specialty text, establishment and town
in the location's display, the mailbox as an e-mail telecom), in the platform's FHIR store,
so ``GET /fhir/PractitionerRole?telecom=<address>`` finds it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from esante.fhir.store import Store
from esante.messaging.models import Mailbox

RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"


def resource_of(box: Mailbox) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "PractitionerRole", "id": f"mss-{box.id}", "active": box.active,
        "telecom": [{"system": "email", "value": box.address, "use": "work"}],
        "code": [{"text": {"personal": "Professionnel", "organisational": "Service",
                           "applicative": "Application"}[box.kind]}],
    }
    if box.rpps:
        res["identifier"] = [{"system": RPPS_SYSTEM, "value": box.rpps}]
        res["practitioner"] = {"display": box.display_name, "identifier": {
            "system": RPPS_SYSTEM, "value": box.rpps}}
    else:
        res["practitioner"] = {"display": box.display_name}
    if box.profession:
        res["specialty"] = [{"text": box.profession}]
    place = " — ".join(x for x in (box.establishment, box.town) if x)
    if place:
        res["location"] = [{"display": place}]
    return res


def publish(session: Session, box: Mailbox) -> None:
    if box.kind == "citizen" or not box.listed:
        return
    Store(session).update("PractitionerRole", f"mss-{box.id}", resource_of(box))
