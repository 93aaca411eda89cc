"""``esante fhir load``, run as a real process on a fresh database: NDJSON (plain and
gzipped), Bundles and single resources from a folder; rejected lines reported with file and
line and skipped, or ``--strict`` stopping with nothing of the current batch written;
loading again makes versions, not duplicates; one audit event per batch; what was loaded
is found through the REST API (index rows in place)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from esante.core import migrate
from esante.core.audit import AuditEvent, verify_chain
from esante.core.db import make_engine, utcnow
from esante.core.settings import get_settings
from esante.fhir.models import FhirResource, FhirStringIndex, FhirTokenIndex, FhirVersion, PatientLink
from tests.factories import make_personas
from tests.fhir.conftest import INS_NIR, observation_body, patient_body, valid_fhir
from tests.freshdb import fresh_database_url

pytestmark = pytest.mark.slow

OTHER_NIR = "185057800608491"  # valid key: 97 - (1850578006084 mod 97)


class Loader:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        # The test process's own data folder: same key ring, so that the app in this
        # process can read what the command encrypted.
        self.env = {**os.environ, "ESANTE_MODE": "test", "ESANTE_DATA_DIR": str(data_dir),
                    "ESANTE_DATABASE_URL": url, "COLUMNS": "200"}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "esante.cli", "fhir", "load", *args],
                              env=self.env, capture_output=True, text=True, timeout=120,
                              check=False)

    def count(self, model: Any, *where: Any) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Loader]:
    with fresh_database_url(tmp_path) as url:
        loader = Loader(url, get_settings().data_dir)
        migrate.upgrade(loader.engine)
        yield loader
        loader.engine.dispose()


def ndjson(path: Path, *resources: Any, raw: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in resources] + list(raw)
    data = ("\n".join(lines) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def patient(fid: str | None, family: str, ins: str | None = None) -> dict[str, Any]:
    body = patient_body(family, ins=ins)
    if fid:
        body["id"] = fid
    return body


def observation(fid: str, patient_id: str, code: str = "29463-7") -> dict[str, Any]:
    return {**observation_body(patient_id, code=code), "id": fid}


def test_folder_of_ndjson_gz_and_bundles_is_loaded_and_searchable(load: Loader,
                                                                   tmp_path: Path) -> None:
    src = tmp_path / "src"
    ndjson(src / "a.ndjson", patient("pat-a", "Lefèvre", INS_NIR), patient("pat-b", "Durand"),
           patient(None, "Sansid"))
    ndjson(src / "sub" / "b.ndjson.gz", observation("obs-1", "pat-a"),
           observation("obs-2", "pat-a", "8302-2"), observation("obs-3", "pat-b"))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5b2b8a3e-7b0a-4d3c-9a51-0c1d2e3f4a5b",
         "resource": patient_body("Moreau"),
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:7e0f1c2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
         "resource": observation_body("x") | {
             "subject": {"reference": "urn:uuid:5b2b8a3e-7b0a-4d3c-9a51-0c1d2e3f4a5b"}},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": patient_body("Putid"), "request": {"method": "PUT", "url": "Patient/pat-put"}},
    ]}
    (src / "c.json").write_text(json.dumps(bundle), encoding="utf-8")
    (src / "d.json").write_text(json.dumps(patient("pat-single", "Seul")), encoding="utf-8")
    (src / "notes.txt").write_text("ignored", encoding="utf-8")

    done = load(str(src), "--batch", "3")
    assert done.returncode == 0, done.stderr
    assert "10 ressource(s) chargée(s), 0 rejetée(s)" in done.stdout, done.stdout
    assert load.count(FhirResource, FhirResource.resource_type == "Patient") == 6
    assert load.count(FhirResource, FhirResource.resource_type == "Observation") == 4
    assert load.count(FhirVersion) == 10
    # the urn:uuid of the transaction became the ids, the reference follows
    assert load.count(FhirResource, FhirResource.fid == "5b2b8a3e-7b0a-4d3c-9a51-0c1d2e3f4a5b",
                      FhirResource.patient_fid == "5b2b8a3e-7b0a-4d3c-9a51-0c1d2e3f4a5b") == 1
    assert load.count(FhirResource, FhirResource.fid == "7e0f1c2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                      FhirResource.patient_fid == "5b2b8a3e-7b0a-4d3c-9a51-0c1d2e3f4a5b") == 1
    assert load.count(FhirResource, FhirResource.fid == "pat-put") == 1
    assert load.count(FhirResource, FhirResource.patient_fid == "pat-a") == 3

    # one audit event per batch (10 resources, batches of 3: 4), with the counts
    with Session(load.engine) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "fhir.load")
                           .order_by(AuditEvent.id)).all()
        assert len(events) == 4
        assert sum(sum(e.details["loaded"].values()) for e in events) == 10
        assert verify_chain(s).ok

    # through the REST API: the holder of pat-a finds her record and her observations
    with Session(load.engine) as s:
        personas = make_personas(s)
        s.add(PatientLink(user_id=personas.users["citizen"].id, patient_fid="pat-a",
                          created_at=utcnow()))
        s.commit()
        auth = personas.auth("citizen")
    from esante.web.app import create_app

    app = create_app(get_settings(), factory=lambda: Session(load.engine, expire_on_commit=False))
    with TestClient(app, base_url="https://testserver") as client:
        found = client.get(f"/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|{INS_NIR}",
                           headers=auth).json()
        assert [e["resource"]["id"] for e in valid_fhir(found)["entry"]] == ["pat-a"]
        assert found["entry"][0]["resource"]["meta"]["versionId"] == "1"
        by_name = client.get("/fhir/Patient?family=lefevre", headers=auth).json()
        assert by_name["total"] == 1
        obs = client.get("/fhir/Observation?patient=pat-a&code=http://loinc.org|8302-2",
                         headers=auth).json()
        assert [e["resource"]["id"] for e in valid_fhir(obs)["entry"]] == ["obs-2"]
        assert client.get("/fhir/Observation/obs-3", headers=auth).status_code == 403


def test_rejected_lines_are_reported_counted_and_skipped(load: Loader, tmp_path: Path) -> None:
    bad_key = patient("pat-bad", "Clef", INS_NIR[:-2] + "00")
    unknown = {**patient("pat-unk", "Inconnu"), "couleur": "bleu"}
    path = ndjson(tmp_path / "mix.ndjson", patient("pat-1", "Bon"), bad_key, unknown,
                  raw=('{"resourceType": "Patient", "id": ', "", '{"resourceType": "Nope"}',
                       json.dumps(patient("pat-2", "Bon2", OTHER_NIR))))
    done = load(str(path))
    assert done.returncode == 0, done.stderr
    err = " ".join(done.stderr.split())
    assert f"{path}:2 : INS invalide : clé attendue" in err
    assert f"{path}:3 : élément inconnu : Patient.couleur" in err
    assert f"{path}:4 : JSON invalide" in err
    assert f"{path}:6 : type de ressource non pris en charge : Nope" in err
    assert "2 ressource(s) chargée(s), 4 rejetée(s)" in done.stdout
    summary = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[:-1]
               if line.strip()}
    assert summary["Patient"] == ["2", "chargée(s)", "2", "rejetée(s)"]
    assert summary["Nope"] == ["0", "chargée(s)", "1", "rejetée(s)"]
    assert load.count(FhirResource) == 2
    with Session(load.engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "fhir.load")).one()
        assert event.details["loaded"] == {"Patient": 2}
        assert event.details["rejected"] == {"Patient": 2, "?": 1, "Nope": 1}


def test_strict_stops_at_the_first_error_without_writing_the_current_batch(
        load: Loader, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "s.ndjson", patient("p1", "Un"), patient("p2", "Deux"),
                  patient("p3", "Trois"), {"resourceType": "Patient", "gender": "femme"},
                  patient("p5", "Cinq"))
    done = load(str(path), "--strict", "--batch", "2")
    assert done.returncode == 1
    assert f"{path}:4" in done.stderr and "Patient.gender" in done.stderr
    # the first batch (p1, p2) was committed; p3 was in the batch being built
    with Session(load.engine) as s:
        assert sorted(s.scalars(select(FhirResource.fid))) == ["p1", "p2"]
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "fhir.load")) == 1


def test_loading_again_makes_versions_not_duplicates(load: Loader, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "r.ndjson", patient("r1", "Martin", INS_NIR),
                  observation("o1", "r1"), observation("o2", "r1"))
    assert load(str(path)).returncode == 0
    tokens = load.count(FhirTokenIndex)
    strings = load.count(FhirStringIndex)
    changed = ndjson(tmp_path / "r2.ndjson", patient("r1", "Martine", INS_NIR),
                     observation("o1", "r1"), observation("o2", "r1"), observation("o3", "r1"))
    done = load(str(changed))
    assert done.returncode == 0, done.stderr
    assert load.count(FhirResource) == 4
    assert load.count(FhirVersion) == 7
    with Session(load.engine) as s:
        assert s.scalar(select(FhirResource.version).where(FhirResource.fid == "r1")) == 2
        assert s.scalar(select(FhirResource.version).where(FhirResource.fid == "o3")) == 1
        methods = set(s.scalars(select(FhirVersion.method)))
        assert methods == {"PUT"}
    # index rows replaced, not added: one more Observation's worth only
    assert load.count(FhirTokenIndex) == tokens + load.count(
        FhirTokenIndex, FhirTokenIndex.res_pk == _pk(load, "o3"))
    assert load.count(FhirStringIndex, FhirStringIndex.norm == "martine") >= 1
    assert load.count(FhirStringIndex, FhirStringIndex.norm == "martin") == 0
    assert load.count(FhirStringIndex) == strings


def _pk(load: Loader, fid: str) -> int:
    with Session(load.engine) as s:
        pk = s.scalar(select(FhirResource.pk).where(FhirResource.fid == fid))
        assert pk is not None
        return pk
