"""Identity lines of the policy matrix: the desk (identity clerk) and the identity-vigilance
cell of establishment A reach A's local identities and the reference directory; only the
cell works the vigilance queue; nobody else, whatever their scope, sees a local identity
(404) or acts on one (403). Checking a NIR is open to every logged-in account."""

from __future__ import annotations

from typing import Any

from esante.identity import service, vigilance
from esante.identity.directory import OID_NIR
from esante.identity.models import IdentityEvent, LocalIdentity, ReferencePerson, VigilancePair
from esante.identity.traits import Traits
from tests.core.policy_base import EVERYONE, Case, _c, _p

DESK_A = frozenset({"clerk_a", "idv_a"})
CELL_A = frozenset({"idv_a"})
EST = "/api/identity/establishments/{finess}"
IDENT = "/api/identity/identities/{identity_id}"
PAIR = "/api/identity/vigilance/{pair_id}"
MATRIX_NIR = "279035121518989"
TRAITS = {"birth_name": "Matrice", "first_names": ["Zoé"], "sex": "F",
          "birth_date": "1979-03-04", "birth_place": "51215"}


def _est(method: str, suffix: str, allowed: frozenset[str], **kw: Any) -> Case:
    return _c(method, EST + suffix, allowed, label=f"/api/identity/establishments/{{A}}{suffix}",
              **kw)


def _ident(method: str, suffix: str, allowed: frozenset[str], *, at: str = "{identity_a}",
           **kw: Any) -> Case:
    return _c(method, IDENT + suffix, allowed, label=f"/api/identity/identities/{at}{suffix}",
              denied=404, **kw)


API_CASES: list[Case] = [
    _c("POST", "/api/identity/ins/check", EVERYONE, body={"value": MATRIX_NIR}),
    _c("POST", "/api/identity/directory/traits", DESK_A, body=TRAITS),
    _c("POST", "/api/identity/directory/carte-vitale", DESK_A,
       body={"holder_nir": MATRIX_NIR, "birth_date": "1979-03-04"}),
    _c("GET", EST + "/identities", DESK_A,
       label="/api/identity/establishments/{A}/identities?birth_name=MATRICE"),
    _est("POST", "/candidates", DESK_A, body={"traits": TRAITS}),
    _est("POST", "/identities", DESK_A, ok=(201,), body={"traits": TRAITS, "document": "CNI"}),
    _est("POST", "/identities/from-message", DESK_A, ok=(201,), body={
        "resourceType": "Patient", "gender": "female", "birthDate": "1979-03-04",
        "name": [{"use": "official", "family": "MATRICE", "given": ["ZOE"]}]}),
    _est("POST", "/carte-vitale", DESK_A,
         body={"holder_nir": MATRIX_NIR, "birth_date": "1979-03-04"}),
    _ident("GET", "", DESK_A),
    _ident("POST", "/document", DESK_A, body={"document": "CNI"}),
    _ident("POST", "/attribute", DESK_A, body={"attribute": "DOUT", "note": "matrice"}),
    _ident("POST", "/directory", DESK_A),
    _ident("GET", "/ins", DESK_A, at="{identity_qualified}"),
    _c("GET", IDENT + "/export", DESK_A, denied=404,
       label="/api/identity/identities/{identity_qualified}/export?format=hl7"),
    _est("GET", "/vigilance", CELL_A),
    _c("POST", PAIR + "/decision", CELL_A, label="/api/identity/vigilance/{pair}/decision",
       denied=404, body={"decision": "not_duplicate"}),
    _c("POST", PAIR + "/undo", CELL_A, label="/api/identity/vigilance/{pair_decided}/undo",
       denied=404),
]

FORM = {"finess": "{A}", "birth_name": "Matrice", "first_names": "Zoé", "sex": "F",
        "birth_date": "1979-03-04", "birth_place": "51215", "action": "save"}
ROLE_PAGES: list[Case] = [
    _p("GET", "/identite", DESK_A),
    _p("GET", "/identite/nouvelle", DESK_A),
    _p("POST", "/identite/nouvelle", DESK_A, body=FORM, extra={"to": "/identite/"}),
    _p("GET", "/identite/carte-vitale", DESK_A),
    _p("POST", "/identite/carte-vitale", DESK_A, extra={"to": "/identite/"},
       body={"finess": "{A}", "holder_nir": "{holder}", "birth_date": "1979-03-04"}),
    _p("GET", "/identite/vigilance", CELL_A),
    _p("POST", "/identite/vigilance/{pair_id}", CELL_A, label="/identite/vigilance/{pair}",
       denied=404, body={"action": "not_duplicate"}, extra={"to": "/identite/vigilance"}),
    _p("GET", "/identite/{identity_id}", DESK_A, label="/identite/{identity_a}", denied=404),
    _p("POST", "/identite/{identity_id}/action", DESK_A, label="/identite/{identity_a}/action",
       denied=404, body={"action": "document", "document": "CNI"}, extra={"to": "/identite/"}),
]

COUNTED = (LocalIdentity, IdentityEvent, VigilancePair)


def placeholders(targets: Any, name: str) -> dict[str, Any]:
    db = targets.db
    finess = targets.personas.est["A"].finess

    def clerk() -> Any:
        return targets.principal("clerk_a")

    def identity(first: str = "Zoé") -> int:
        made, _ = service.create(db, clerk(), finess=finess, traits=Traits(
            "Matrice", [first], "F", "1979-03-04", "51215"))
        return made.id

    def reference() -> ReferencePerson:
        def make() -> ReferencePerson:
            person = ReferencePerson(matricule=MATRIX_NIR, oid=OID_NIR, birth_name="MATRICE",
                                     first_names="ZOE", sex="F", birth_date="1979-03-04",
                                     birth_place="51215", card_holder=MATRIX_NIR)
            db.add(person)
            db.flush()
            return person

        return targets.once("identity-reference", make)  # type: ignore[no-any-return]

    def qualified() -> int:
        reference()
        made = db.get(LocalIdentity, identity())
        service.check_document(db, clerk(), made, "CNI")
        service.match_directory(db, clerk(), made)
        assert made.status == "QUAL"
        return made.id

    def pair() -> int:
        identity()
        identity("Zoe")
        return db.query(VigilancePair).filter_by(finess=finess).one().id  # type: ignore[no-any-return]

    def decided() -> int:
        made = db.get(VigilancePair, pair())
        vigilance.decide(db, targets.principal("idv_a"), made, "link")
        return made.id

    return {
        "{identity_a}": lambda: targets.once("identity-a", identity),
        "{identity_qualified}": lambda: targets.once("identity-qualified", qualified),
        "{pair}": lambda: targets.once("identity-pair", pair),
        "{pair_decided}": lambda: targets.once("identity-pair-decided", decided),
        "{holder}": lambda: reference().matricule,
    }
