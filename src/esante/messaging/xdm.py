"""CDA documents packaged as IHE XDM (ITI TF-1 §16, ITI TF-3 §4.2.4): a zip holding
``INDEX.HTM``, ``README.TXT`` and ``IHE_XDM/SUBSET01/`` with ``METADATA.XML`` (an ebRIM
SubmitObjectsRequest) and the documents. Read back with defusedxml (no entities, no
network)."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from defusedxml import ElementTree as SafeET

from esante.core.errors import Invalid

CDA_NS = "urn:hl7-org:v3"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10",
            "1.2.250.1.213.1.4.11"}
SUBSET = "IHE_XDM/SUBSET01/"
MAX_ENTRIES = 50
MAX_UNZIPPED = 50 * 1_048_576  # a zip bomb stops here


@dataclass(frozen=True)
class CdaInfo:
    code: str  # the document type (LOINC), carried as X-MSS-CODECDA
    title: str
    ins: str  # the INS matricule when the patient id's root is an INS OID, else ""
    ins_oid: str


def read_cda(data: bytes) -> CdaInfo:
    try:
        root = SafeET.fromstring(data)
    except Exception as exc:  # defusedxml raises several kinds; all mean "not a CDA"
        raise Invalid(f"document CDA illisible : {str(exc)[:120]}", "unreadable CDA",
                      code="cda-invalid") from exc
    if root.tag != f"{{{CDA_NS}}}ClinicalDocument":
        raise Invalid("le document n'est pas un CDA (ClinicalDocument attendu)",
                      "not a CDA document", code="cda-invalid")
    code = root.find(f"{{{CDA_NS}}}code")
    title = root.findtext(f"{{{CDA_NS}}}title") or ""
    ins, oid = "", ""
    for pid in root.iterfind(f"{{{CDA_NS}}}recordTarget/{{{CDA_NS}}}patientRole/{{{CDA_NS}}}id"):
        if pid.get("root") in INS_OIDS and pid.get("extension"):
            ins, oid = pid.get("extension", ""), pid.get("root", "")
    return CdaInfo(code=(code.get("code", "") if code is not None else ""), title=title[:200],
                   ins=ins, ins_oid=oid)


def _metadata(docs: list[tuple[str, bytes, CdaInfo]], author: str) -> bytes:
    ET.register_namespace("lcm", LCM)
    ET.register_namespace("rim", RIM)
    req = ET.Element(f"{{{LCM}}}SubmitObjectsRequest")
    objs = ET.SubElement(req, f"{{{RIM}}}RegistryObjectList")
    for name, data, info in docs:
        entry = ET.SubElement(objs, f"{{{RIM}}}ExtrinsicObject", {
            "id": f"urn:uuid:{uuid.uuid4()}", "mimeType": "text/xml",
            "objectType": "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"})
        for slot, value in (("URI", name), ("hash", hashlib.sha1(data).hexdigest()),  # noqa: S324 - XDS names SHA-1
                            ("size", str(len(data))), ("authorPerson", author)):
            s = ET.SubElement(entry, f"{{{RIM}}}Slot", {"name": slot})
            ET.SubElement(ET.SubElement(s, f"{{{RIM}}}ValueList"), f"{{{RIM}}}Value").text = value
        ET.SubElement(ET.SubElement(entry, f"{{{RIM}}}Name"), f"{{{RIM}}}LocalizedString",
                      {"value": info.title or name})
        ET.SubElement(entry, f"{{{RIM}}}Classification", {
            "classificationScheme": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
            "nodeRepresentation": info.code, "classifiedObject": entry.get("id", "")})
    return ET.tostring(req, xml_declaration=True, encoding="utf-8")


def package(cdas: list[bytes], *, author: str) -> bytes:
    """One XDM zip holding the CDA documents (each is checked first)."""
    docs = [(f"DOC{i:04d}.XML", data, read_cda(data)) for i, data in enumerate(cdas, 1)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("INDEX.HTM", "<html><body><h1>Documents</h1><ul>" + "".join(
            f'<li><a href="{SUBSET}{n}">{n}</a></li>' for n, _d, _i in docs) + "</ul></body></html>")
        z.writestr("README.TXT", f"IHE XDM - esante\r\nAuteur : {author}\r\n")
        z.writestr(SUBSET + "METADATA.XML", _metadata(docs, author))
        for name, data, _info in docs:
            z.writestr(SUBSET + name, data)
    return buf.getvalue()


def unpack(data: bytes) -> list[CdaInfo]:
    """The CDA documents of an XDM zip, after checking its layout and its sizes."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise Invalid("archive IHE XDM illisible (zip invalide)", "bad XDM zip",
                      code="xdm-invalid") from exc
    with z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > MAX_UNZIPPED:
            raise Invalid("archive IHE XDM trop grosse", "XDM too large", code="xdm-invalid")
        names = {i.filename for i in infos}
        if SUBSET + "METADATA.XML" not in names or "INDEX.HTM" not in names:
            raise Invalid("archive IHE XDM sans INDEX.HTM ou IHE_XDM/SUBSET01/METADATA.XML",
                          "XDM layout missing", code="xdm-invalid")
        meta = SafeET.fromstring(z.read(SUBSET + "METADATA.XML"))
        uris = [v.text or "" for s in meta.iter(f"{{{RIM}}}Slot") if s.get("name") == "URI"
                for v in s.iter(f"{{{RIM}}}Value")]
        docs = []
        for uri in uris:
            if SUBSET + uri not in names:
                raise Invalid(f"document {uri[:60]} annoncé dans METADATA.XML mais absent",
                              "XDM document missing", code="xdm-invalid")
            docs.append(read_cda(z.read(SUBSET + uri)))
        if not docs:
            raise Invalid("archive IHE XDM sans document", "empty XDM", code="xdm-invalid")
        return docs
