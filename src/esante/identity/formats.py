"""The identity in the field's formats: FR Core Patient (FHIR), HL7 v2 PID segment, CDA
``patientRole`` header fragment; in and out, the INS carried only when ``status`` allows.

One neutral shape, ``PatientIdentity``, sits between the three; producing any of them goes
through ``status.outward_ins`` (only a qualified identity carries its INS outward).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import hl7
from defusedxml.ElementTree import fromstring

from esante.core.errors import Invalid
from esante.identity import nir, status
from esante.identity.directory import OID_NIA, OID_NIR

OID_NIR_TEST, OID_NIR_DEMO = "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"
INS_OIDS = {OID_NIR: "INS-NIR", OID_NIA: "INS-NIA", OID_NIR_TEST: "INS-NIR-TEST",
            OID_NIR_DEMO: "INS-NIR-DEMO"}
HL7_AUTHORITIES = {OID_NIR: "ASIP-SANTE-INS-NIR", OID_NIA: "ASIP-SANTE-INS-NIA",
                   OID_NIR_TEST: "ASIP-SANTE-INS-NIR-TEST", OID_NIR_DEMO: "ASIP-SANTE-INS-NIR-DEMO"}
TYPE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
RELIABILITY_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
STATUS_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445"
MODE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-mode-validation-identity"
METHOD_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-method-collection"
# The desk's collection channels as FR Core methodCollection codes, which IHE PAM France
# also uses in ZFD-5 (table IHE-ZFD-5): SM manual entry, CV Carte Vitale, INSI teleservice,
# CB Datamatrix, AV Appli carte Vitale. A file import names no channel.
COLLECTION_METHODS = {"manual": "SM", "carte_vitale": "CV", "directory": "INSI",
                      "datamatrix": "CB", "app_vitale": "AV"}
COMMUNE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
# The desk's document types as FR Core validation modes (fr-core-cs-mode-validation-identity).
VALIDATION_MODES = {"CNI": "CN", "PASSEPORT": "PA", "TITRE_SEJOUR": "CS",
                    "ACTE_NAISSANCE": "AN", "LIVRET_FAMILLE": "LE", "PERMIS_CONDUIRE": "PC"}
BIRTH_LIST_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-birth-list-given-name"
BIRTH_PLACE_URL = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE_CODE_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
GENDER = {"M": "male", "F": "female"}
CDA_GENDER_SYSTEM = "2.16.840.1.113883.5.1"
CDA_NS = "urn:hl7-org:v3"


@dataclass
class PatientIdentity:
    birth_name: str
    first_names: list[str]
    sex: str
    birth_date: str  # YYYY-MM-DD, 00 for unknown parts
    birth_place: str = ""
    used_name: str = ""
    used_first_name: str = ""
    status: str = status.PROV
    matricule: str = ""
    oid: str = ""
    local_id: str = ""
    local_oid: str = ""  # the establishment's assigning authority for its local identifiers
    validation_mode: str = ""  # FR Core code of the document checked (CN, PA, CS...)
    validation_date: str = ""  # YYYY-MM-DD
    collection_method: str = ""  # FR Core methodCollection / ZFD-5 code (SM, CV, INSI...)
    collection_date: str = ""  # YYYY-MM-DD the reference directory (INSi) was queried
    extra: dict[str, Any] = field(default_factory=dict)


def from_local(identity: Any, traits: dict[str, Any], *, local_oid: str) -> PatientIdentity:
    """A local identity as it may leave the establishment: the INS only when qualified."""
    ins = status.outward_ins(identity, traits) or {"matricule": "", "oid": ""}
    return PatientIdentity(
        birth_name=traits["birth_name"], first_names=list(traits["first_names"]),
        sex=traits["sex"], birth_date=traits["birth_date"],
        birth_place=traits.get("birth_place", ""), used_name=traits.get("used_name", ""),
        used_first_name=traits.get("used_first_name", ""), status=identity.status,
        matricule=ins["matricule"], oid=ins["oid"], local_id=identity.local_id or str(identity.id),
        local_oid=local_oid, validation_mode=VALIDATION_MODES.get(identity.document_type, ""),
        validation_date=identity.document_checked_at.date().isoformat()
        if identity.document_checked_at else "",
        collection_method=_collection_method(identity, traits),
        collection_date=identity.directory_checked_at.date().isoformat()
        if identity.directory_checked_at and traits.get("from_directory") else "")


def _collection_method(identity: Any, traits: dict[str, Any]) -> str:
    """The channel the traits came through: the desk's, or the teleservice once the
    directory's traits were adopted after a manual entry."""
    method = identity.collection_method
    if traits.get("from_directory") and method in ("manual", "import"):
        return "INSI"
    return COLLECTION_METHODS.get(method, "")


def _outward(p: PatientIdentity) -> PatientIdentity:
    """The one gate again, on the neutral shape: no INS unless qualified."""
    return p if p.status == status.QUAL else replace(p, matricule="", oid="")


def _check_ins(p: PatientIdentity, where: str) -> None:
    if not p.matricule:
        return
    if p.oid not in INS_OIDS:
        raise Invalid(f"{where} : OID d'INS inconnu {p.oid[:40]}", "unknown INS OID",
                      code="ins-oid")
    report = nir.check(p.matricule)
    if report.errors:
        raise Invalid(f"{where} : INS invalide : {report.errors[0]}", "invalid INS",
                      code="ins-invalid")


def _fhir_date(value: str) -> str:
    y, m, d = value.split("-")
    return y if m == "00" else f"{y}-{m}" if d == "00" else value


def _from_fhir_date(value: str) -> str:
    parts = [*value.split("-"), "00", "00"][:3]
    return "-".join(parts)


# --- FHIR FR Core Patient --------------------------------------------------------------------

def to_fhir(p: PatientIdentity) -> dict[str, Any]:
    p = _outward(p)
    identifiers: list[dict[str, Any]] = []
    if p.matricule:
        code = INS_OIDS[p.oid]
        identifiers.append({"use": "official", "type": {"coding": [
            {"system": TYPE_SYSTEM, "code": code}]}, "system": f"urn:oid:{p.oid}",
            "value": p.matricule})
    if p.local_id:
        identifiers.append({"use": "usual", "type": {"coding": [{"system": V2_0203,
                                                                 "code": "PI"}]},
                            "system": f"urn:oid:{p.local_oid}", "value": p.local_id})
    names: list[dict[str, Any]] = [{
        "use": "official", "family": p.birth_name, "given": p.first_names[:1],
        "extension": [{"url": BIRTH_LIST_URL, "valueString": " ".join(p.first_names)}]}]
    if p.used_name or p.used_first_name:
        usual: dict[str, Any] = {"use": "usual", "family": p.used_name or p.birth_name}
        if p.used_first_name:
            usual["given"] = [p.used_first_name]
        names.append(usual)
    reliability: list[dict[str, Any]] = []
    if p.collection_method:
        reliability.append({"url": "methodCollection", "valueCoding": {
            "system": METHOD_SYSTEM, "code": p.collection_method}})
    if p.collection_date:
        reliability.append({"url": "dateCollection", "valueDate": p.collection_date})
    reliability.append(
        {"url": "identityStatus", "valueCoding": {"system": STATUS_SYSTEM, "code": p.status}})
    if p.validation_mode:
        reliability.append({"url": "validationMode", "valueCoding": {
            "system": MODE_SYSTEM, "code": p.validation_mode}})
    if p.validation_date:
        reliability.append({"url": "validationDate", "valueDate": p.validation_date})
    extensions: list[dict[str, Any]] = [{"url": RELIABILITY_URL, "extension": reliability}]
    if p.birth_place:
        coding = {"code": p.birth_place} if p.birth_place.startswith("99") else {
            "system": COMMUNE_SYSTEM, "code": p.birth_place}
        extensions.append({"url": BIRTH_PLACE_URL, "valueAddress": {"extension": [
            {"url": INSEE_CODE_URL, "valueCoding": coding}]}})
    return {"resourceType": "Patient", "extension": extensions, "identifier": identifiers,
            "name": names, "gender": GENDER[p.sex], "birthDate": _fhir_date(p.birth_date)}


def from_fhir(resource: dict[str, Any]) -> PatientIdentity:
    if resource.get("resourceType") != "Patient":
        raise Invalid("ressource Patient attendue", "Patient expected", code="fhir-type")
    official = next((n for n in resource.get("name", []) if n.get("use") == "official"), None)
    if official is None or not official.get("family"):
        raise Invalid("Patient.name : nom officiel (use=official) attendu",
                      "official name expected", code="fhir-name")
    listed = next((e.get("valueString", "") for e in official.get("extension", [])
                   if e.get("url") == BIRTH_LIST_URL), "")
    usual: dict[str, Any] = next((n for n in resource.get("name", []) if n.get("use") == "usual"), {})
    sex = {"male": "M", "female": "F"}.get(resource.get("gender", ""), "")
    if not sex:
        raise Invalid("Patient.gender : male ou female attendu", "gender expected",
                      code="fhir-gender")
    p = PatientIdentity(
        birth_name=official["family"],
        first_names=listed.split(" ") if listed else list(official.get("given", [])),
        sex=sex, birth_date=_from_fhir_date(str(resource.get("birthDate", ""))),
        used_name=usual.get("family", "") if usual.get("family") != official["family"] else "",
        used_first_name=(usual.get("given") or [""])[0], status=_fhir_status(resource))
    found = _reliability(resource)
    p.validation_mode, p.validation_date = found["validationMode"], found["validationDate"]
    p.collection_method, p.collection_date = found["methodCollection"], found["dateCollection"]
    for ident in resource.get("identifier", []):
        system = str(ident.get("system", "")).removeprefix("urn:oid:")
        if system in INS_OIDS:
            p.matricule, p.oid = str(ident.get("value", "")), system
        elif ((ident.get("type") or {}).get("coding") or [{}])[0].get("code") == "PI":
            p.local_id, p.local_oid = str(ident.get("value", "")), system
    for ext in resource.get("extension", []):
        if ext.get("url") == BIRTH_PLACE_URL:
            for sub in (ext.get("valueAddress") or {}).get("extension", []):
                if sub.get("url") == INSEE_CODE_URL:
                    p.birth_place = (sub.get("valueCoding") or {}).get("code", "")
    _check_ins(p, "Patient.identifier")
    return p


def _reliability(resource: dict[str, Any]) -> dict[str, str]:
    """The reliability extension's collection method and date, validation mode and date."""
    out = dict.fromkeys(("methodCollection", "dateCollection", "validationMode",
                         "validationDate"), "")
    for ext in resource.get("extension", []):
        if ext.get("url") == RELIABILITY_URL:
            for sub in ext.get("extension", []):
                if sub.get("url") in ("methodCollection", "validationMode"):
                    out[sub["url"]] = str((sub.get("valueCoding") or {}).get("code", ""))
                elif sub.get("url") in ("dateCollection", "validationDate"):
                    out[sub["url"]] = str(sub.get("valueDate", ""))
    return out


def _fhir_status(resource: dict[str, Any]) -> str:
    for ext in resource.get("extension", []):
        if ext.get("url") == RELIABILITY_URL:
            for sub in ext.get("extension", []):
                if sub.get("url") == "identityStatus":
                    code = (sub.get("valueCoding") or {}).get("code", "")
                    if code not in status.STATUS_LABELS:
                        raise Invalid(f"statut d'identité inconnu : {code[:10]}",
                                      "unknown identity status", code="fhir-status")
                    return str(code)
    return status.PROV


# --- HL7 v2 PID ------------------------------------------------------------------------------

def _esc(value: str) -> str:
    """HL7 v2 escapes for the default delimiters."""
    out = value.replace("\\", "\\E\\")
    for char, esc in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        out = out.replace(char, esc)
    return out


def to_pid(p: PatientIdentity) -> str:
    """The PID segment (IHE PAM France): PID-3 INS and local identifier, PID-5 birth name
    (L) and used name (D), PID-7, PID-8, PID-23 birth place, PID-32 identity status."""
    p = _outward(p)
    ids = []
    if p.matricule:
        ids.append(f"{p.matricule}^^^{HL7_AUTHORITIES[p.oid]}&{p.oid}&ISO^INS")
    if p.local_id:
        ids.append(f"{_esc(p.local_id)}^^^&{p.local_oid}&ISO^PI")
    names = [f"{_esc(p.birth_name)}^{_esc(p.first_names[0] if p.first_names else '')}^"
             f"{_esc(' '.join(p.first_names[1:]))}^^^^L"]
    if p.used_name or p.used_first_name:
        names.append(f"{_esc(p.used_name)}^{_esc(p.used_first_name)}^^^^^D")
    fields = [""] * 33
    fields[0], fields[1], fields[3] = "PID", "1", "~".join(ids)
    fields[5], fields[7] = "~".join(names), p.birth_date.replace("-", "")
    fields[8], fields[23], fields[32] = p.sex, p.birth_place, p.status
    return "|".join(fields)


ZFD_DOCUMENTS = ("AN", "CC", "CE", "CM", "CN", "CS", "LE", "PA", "PC")  # table IHE-ZFD-7


def to_zfd(p: PatientIdentity) -> str:
    """The IHE PAM France ZFD segment (demographic complement) with what it carries of the
    identity check: ZFD-5 collection method, ZFD-6 date of the teleservice (INSi) query,
    ZFD-7 type of identity document checked. PAM has no field for the date of the document
    check (FR Core ``validationDate``): it does not travel in HL7 v2. Empty when there is
    nothing to say."""
    if not (p.collection_method or p.collection_date or p.validation_mode):
        return ""
    fields = [""] * 8
    fields[0] = "ZFD"
    fields[5], fields[6] = p.collection_method, p.collection_date.replace("-", "")
    fields[7] = p.validation_mode if p.validation_mode in ZFD_DOCUMENTS else ""
    return "|".join(fields).rstrip("|")


def to_v2(p: PatientIdentity) -> str:
    """PID and, when the identity check has something to say, ZFD (segments joined by CR)."""
    return "\r".join(filter(None, (to_pid(p), to_zfd(p))))


def from_pid(message: str) -> PatientIdentity:
    """A PID segment (alone or in a message) back to an identity; a broken PID gets a
    precise error naming the field."""
    text = message.strip().replace("\n", "\r")
    if not text.startswith("MSH"):
        text = "MSH|^~\\&|esante|esante|||||ADT^A28|1|P|2.5\r" + text
    try:
        msg = hl7.parse(text)
        pid = msg.segment("PID")
    except KeyError:
        raise Invalid("message HL7 v2 sans segment PID", "no PID segment", code="hl7-pid") \
            from None
    except Exception:  # the hl7 package raises several kinds on garbage
        raise Invalid("message HL7 v2 illisible", "unreadable HL7 v2 message",
                      code="hl7-parse") from None
    p = _pid_identity(msg, pid)
    try:
        zfd = msg.segment("ZFD")
    except KeyError:
        return p
    _read_zfd(zfd, p)
    return p


def _read_zfd(zfd: Any, p: PatientIdentity) -> None:
    method, when, document = (str(_field(zfd, n)) for n in (5, 6, 7))
    if method and method not in COLLECTION_METHODS.values() and method != "RFID":
        raise Invalid(f"ZFD-5 : mode d'obtention de l'identité inconnu « {method[:8]} » "
                      "(SM, CV, INSI, CB, RFID, AV)", "ZFD-5: unknown method",
                      code="hl7-zfd-5")
    if when and (len(when) < 8 or not when[:8].isdigit()):
        raise Invalid(f"ZFD-6 : date d'interrogation AAAAMMJJ attendue, reçu « {when[:12]} »",
                      "ZFD-6: date YYYYMMDD expected", code="hl7-zfd-6")
    if document and document not in ZFD_DOCUMENTS:
        raise Invalid(f"ZFD-7 : type de justificatif d'identité inconnu « {document[:8]} »",
                      "ZFD-7: unknown document type", code="hl7-zfd-7")
    p.collection_method, p.validation_mode = method, document
    p.collection_date = f"{when[:4]}-{when[4:6]}-{when[6:8]}" if when else ""


def _field(pid: Any, n: int) -> Any:
    return pid[n] if len(pid) > n else ""


def _pid_identity(msg: Any, pid: Any) -> PatientIdentity:
    names = _field(pid, 5)
    if not str(names):
        raise Invalid("PID-5 : nom absent", "PID-5: no name", code="hl7-pid-5")
    legal, used = None, None
    for rep in names:
        kind = str(rep[6]) if len(rep) > 6 else ""
        if kind == "D":
            used = rep
        elif legal is None:
            legal = rep
    assert legal is not None
    born = str(_field(pid, 7))[:8]
    if len(born) != 8 or not born.isdigit():
        raise Invalid(f"PID-7 : date de naissance AAAAMMJJ attendue, reçu « {born[:12]} »",
                      "PID-7: birth date YYYYMMDD expected", code="hl7-pid-7")
    sex = str(_field(pid, 8))
    if sex not in ("M", "F"):
        raise Invalid(f"PID-8 : sexe M ou F attendu, reçu « {sex[:3]} »", "PID-8: M or F",
                      code="hl7-pid-8")
    code = str(_field(pid, 32)) or status.PROV
    if code not in status.STATUS_LABELS:
        raise Invalid(f"PID-32 : statut d'identité inconnu « {code[:10]} »",
                      "PID-32: unknown status", code="hl7-pid-32")
    others = msg.unescape(str(legal[2])) if len(legal) > 2 and str(legal[2]) else ""
    p = PatientIdentity(
        birth_name=msg.unescape(str(legal[0])),
        first_names=[msg.unescape(str(legal[1]))] + (others.split(" ") if others else []),
        sex=sex, birth_date=f"{born[:4]}-{born[4:6]}-{born[6:8]}",
        birth_place=str(_field(pid, 23)), status=code,
        used_name=msg.unescape(str(used[0])) if used is not None else "",
        used_first_name=msg.unescape(str(used[1])) if used is not None and len(used) > 1
        else "")
    for rep in _field(pid, 3) or []:
        authority = rep[3] if len(rep) > 3 else None
        oid = str(authority[1]) if authority is not None and len(authority) > 1 else ""
        kind = str(rep[4]) if len(rep) > 4 else ""
        if kind == "INS":
            p.matricule, p.oid = str(rep[0]), oid
        elif kind == "PI":
            p.local_id, p.local_oid = msg.unescape(str(rep[0])), oid
    _check_ins(p, "PID-3")
    return p


# --- CDA patientRole -------------------------------------------------------------------------

def to_cda(p: PatientIdentity) -> str:
    """The ``recordTarget/patientRole`` fragment of a CDA header (CI-SIS)."""
    p = _outward(p)
    role = Element("patientRole", xmlns=CDA_NS)
    if p.matricule:
        SubElement(role, "id", root=p.oid, extension=p.matricule)
    if p.local_id:
        SubElement(role, "id", root=p.local_oid, extension=p.local_id)
    patient = SubElement(role, "patient")
    name = SubElement(patient, "name")
    SubElement(name, "family", qualifier="BR").text = p.birth_name
    if p.used_name:
        SubElement(name, "family", qualifier="SP").text = p.used_name
    for given in p.first_names:
        SubElement(name, "given").text = given
    if p.used_first_name:
        SubElement(name, "given", qualifier="CL").text = p.used_first_name
    SubElement(patient, "administrativeGenderCode", code=p.sex,
               codeSystem=CDA_GENDER_SYSTEM)
    SubElement(patient, "birthTime", value=p.birth_date.replace("-", ""))
    if p.birth_place:
        addr = SubElement(SubElement(SubElement(patient, "birthplace"), "place"), "addr")
        SubElement(addr, "county").text = p.birth_place
    return tostring(role, encoding="unicode")


def from_cda(xml: str, *, status_code: str = status.PROV) -> PatientIdentity:
    """The fragment back; CDA carries no RNIV status, so the sender's is passed in."""
    try:
        role = fromstring(xml)
    except Exception:
        raise Invalid("fragment CDA illisible (XML invalide)", "unreadable CDA fragment",
                      code="cda-parse") from None
    ns = {"v3": CDA_NS}
    patient = role.find("v3:patient", ns)
    if patient is None:
        raise Invalid("CDA : élément patient absent", "CDA: no patient", code="cda-patient")
    name = patient.find("v3:name", ns)
    families = {f.get("qualifier", "BR"): f.text or "" for f in
                (name.findall("v3:family", ns) if name is not None else [])}
    givens = name.findall("v3:given", ns) if name is not None else []
    gender = patient.find("v3:administrativeGenderCode", ns)
    birth = patient.find("v3:birthTime", ns)
    born = birth.get("value", "") if birth is not None else ""
    if len(born) < 8:
        raise Invalid("CDA : birthTime AAAAMMJJ attendu", "CDA: birthTime expected",
                      code="cda-birth")
    county = patient.find("v3:birthplace/v3:place/v3:addr/v3:county", ns)
    p = PatientIdentity(
        birth_name=families.get("BR", ""),
        first_names=[g.text or "" for g in givens if g.get("qualifier") != "CL"],
        sex=gender.get("code", "") if gender is not None else "",
        birth_date=f"{born[:4]}-{born[4:6]}-{born[6:8]}",
        birth_place=county.text or "" if county is not None else "",
        used_name=families.get("SP", ""),
        used_first_name=next((g.text or "" for g in givens if g.get("qualifier") == "CL"), ""),
        status=status_code)
    for ident in role.findall("v3:id", ns):
        root, ext = ident.get("root", ""), ident.get("extension", "")
        if root in INS_OIDS:
            p.matricule, p.oid = ext, root
        else:
            p.local_id, p.local_oid = ext, root
    _check_ins(p, "patientRole/id")
    return p
