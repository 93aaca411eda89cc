"""FHIR Bulk Data ``$export``: kick-off, status, manifest and NDJSON files; only what the
caller may read, one audit event per patient, files encrypted at rest and private to the
job's owner; expiry and cancel; the operator's ``esante fhir export``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from esante.core import migrate
from esante.core.audit import AuditEvent
from esante.core.crypto import DataKey
from esante.core.db import make_engine, utcnow
from esante.core.settings import Settings, get_settings
from esante.fhir import bulk
from esante.fhir.bulk_models import ExportJob
from esante.fhir.store import Store
from tests.fhir.conftest import FhirClient, observation_body, patient_body, practitioner_body
from tests.freshdb import fresh_database_url

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


class Exports:
    """Kick-off through the API; the worker's job run synchronously on the test session."""

    def __init__(self, fhir: FhirClient, db: Session, queued: list[str]) -> None:
        self.fhir, self.db, self.queued = fhir, db, queued

    def kick(self, who: str, url: str, *, headers: dict[str, str] | None = None,
             params: dict[str, str] | None = None) -> Any:
        return self.fhir(who, "GET", url, headers=headers if headers is not None else ASYNC,
                         params=params)

    def start(self, who: str, url: str, **params: str) -> str:
        r = self.kick(who, url, params=params)
        assert r.status_code == 202, r.text
        location = r.headers["content-location"]
        assert location.startswith("https://testserver/fhir/$export-status/")
        job_id = location.rsplit("/", 1)[1]
        assert self.queued[-1] == job_id  # handed to the worker
        return job_id

    def run(self, job_id: str) -> str:
        return bulk.run_export(self.db, job_id)

    def manifest(self, who: str, job_id: str) -> dict[str, Any]:
        r = self.fhir(who, "GET", f"/$export-status/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def export(self, who: str, url: str, **params: str) -> tuple[str, dict[str, list[dict[str, Any]]]]:
        """Kick-off, run, read every file: (job id, resources by type)."""
        job_id = self.start(who, url, **params)
        assert self.run(job_id) == "done"
        out: dict[str, list[dict[str, Any]]] = {}
        for f in self.manifest(who, job_id)["output"]:
            out.setdefault(f["type"], []).extend(self.file(who, f["url"]))
        return job_id, out

    def file(self, who: str, url: str) -> list[dict[str, Any]]:
        r = self.fhir(who, "GET", url.split("/fhir", 1)[1])
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = r.content.decode().splitlines()
        resources = [json.loads(line) for line in lines]
        for res in resources:  # each line a valid FHIR R4 resource
            get_fhir_model_class(res["resourceType"]).model_validate(res)
        return resources


@pytest.fixture
def exports(fhir: FhirClient, db: Session, monkeypatch: pytest.MonkeyPatch) -> Exports:
    queued: list[str] = []
    monkeypatch.setattr(bulk, "dispatch", queued.append)
    return Exports(fhir, db, queued)


def _ids(resources: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in resources}


def _observe(fhir: FhirClient, patient: str, who: str = "doctor", **kw: Any) -> str:
    r = fhir(who, "POST", "/Observation", observation_body(patient, **kw))
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


def _export_audits(db: Session) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "fhir.export")
                           .order_by(AuditEvent.id)))


def _blob_path(blob_id: str) -> Path:
    return get_settings().resolved_blob_dir / blob_id[:2] / blob_id


def test_system_export_kick_off_status_manifest_files(
        exports: Exports, fhir: FhirClient, make_patient: Callable[..., str], db: Session) -> None:
    mine = make_patient(family="Martin")
    other = make_patient(holder=None, family="Durand")
    obs = [_observe(fhir, mine), _observe(fhir, mine, code="8867-4"), _observe(fhir, other)]
    assert fhir("admin", "POST", "/Practitioner", practitioner_body("10000000553")).status_code == 201

    job_id = exports.start("admin", "/$export", _outputFormat="application/fhir+ndjson")
    r = fhir("admin", "GET", f"/$export-status/{job_id}")
    assert r.status_code == 202 and r.headers["x-progress"]
    before = len(_export_audits(db))
    assert exports.run(job_id) == "done"

    m = exports.manifest("admin", job_id)
    assert m["requiresAccessToken"] is True and m["error"] == []
    assert m["request"].startswith("https://testserver/fhir/$export")
    assert m["transactionTime"].endswith("Z")
    counts = {f["type"]: f["count"] for f in m["output"]}
    assert counts == {"Patient": 2, "Observation": 3, "Practitioner": 1}
    by_type = {f["type"]: exports.file("admin", f["url"]) for f in m["output"]}
    assert _ids(by_type["Patient"]) == {mine, other}
    assert _ids(by_type["Observation"]) == set(obs)
    # One audit event per patient exported.
    events = _export_audits(db)[before:]
    assert sorted(e.patient_ref for e in events) == sorted([f"Patient/{mine}", f"Patient/{other}"])
    assert {e.actor_id for e in events} == {exports.fhir.personas.users["admin"].id}

    # Encrypted at rest: the blob on disk holds no plain resource.
    job = db.get(ExportJob, job_id, populate_existing=True)
    assert job is not None and job.output
    for f in job.output:
        raw = _blob_path(f["blob"]).read_bytes()
        assert b"resourceType" not in raw and b"Martin" not in raw and raw[:2] == b"E1"


def test_citizen_gets_her_compartment_only(
        exports: Exports, fhir: FhirClient, make_patient: Callable[..., str], db: Session) -> None:
    mine = make_patient(family="Martin")
    other = make_patient(holder=None, family="Durand")
    my_obs = _observe(fhir, mine)
    other_obs = _observe(fhir, other)
    fhir("admin", "POST", "/Practitioner", practitioner_body("10000000553"))
    before = len(_export_audits(db))

    _, got = exports.export("citizen", "/Patient/$export")
    assert set(got) == {"Patient", "Observation"}  # no directory in a patient-level export
    assert _ids(got["Patient"]) == {mine}
    assert _ids(got["Observation"]) == {my_obs}
    assert [e.patient_ref for e in _export_audits(db)[before:]] == [f"Patient/{mine}"]

    # Her doctor (who created both records) gets both; another doctor nothing.
    _, got = exports.export("doctor", "/Patient/$export")
    assert _ids(got["Patient"]) == {mine, other}
    assert _ids(got["Observation"]) == {my_obs, other_obs}
    _, got = exports.export("other_doctor", "/Patient/$export")
    assert got == {}


def test_files_are_private_to_the_job_owner(
        exports: Exports, fhir: FhirClient, make_patient: Callable[..., str]) -> None:
    mine = make_patient()
    _observe(fhir, mine)
    job_id, _ = exports.export("citizen", "/Patient/$export")
    url = exports.manifest("citizen", job_id)["output"][0]["url"].split("/fhir", 1)[1]
    for who in ("doctor", "admin", "other_doctor"):
        assert fhir(who, "GET", f"/$export-status/{job_id}").status_code == 404
        assert fhir(who, "GET", url).status_code == 404
        assert fhir(who, "DELETE", f"/$export-status/{job_id}").status_code == 404
    assert fhir(None, "GET", url).status_code == 401
    assert fhir("citizen", "GET", f"/$export-file/{job_id}/Nope-1.ndjson").status_code == 404
    assert fhir("citizen", "GET", url).status_code == 200


def test_type_filter(exports: Exports, fhir: FhirClient,
                     make_patient: Callable[..., str]) -> None:
    p = make_patient()
    obs = _observe(fhir, p)
    _, got = exports.export("doctor", "/Patient/$export", _type="Observation")
    assert set(got) == {"Observation"} and _ids(got["Observation"]) == {obs}
    r = exports.kick("doctor", "/Patient/$export", params={"_type": "Observation,Nope"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_since_filter(exports: Exports, fhir: FhirClient,
                      make_patient: Callable[..., str]) -> None:
    p = make_patient()
    old = _observe(fhir, p)
    cut = utcnow()
    new = _observe(fhir, p, code="8867-4")
    _, got = exports.export("admin", "/$export", _since=cut.isoformat(), _type="Observation,Patient")
    assert set(got) == {"Observation"}
    assert _ids(got["Observation"]) == {new} and old not in _ids(got["Observation"])
    r = exports.kick("admin", "/$export", params={"_since": "2026-01-01T00:00:00"})  # no zone
    assert r.status_code == 400


def test_bad_requests(exports: Exports) -> None:
    r = exports.kick("admin", "/$export", params={"_outputFormat": "application/fhir+json"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    for fmt in ("application/ndjson", "ndjson"):
        assert exports.kick("admin", "/$export", params={"_outputFormat": fmt}).status_code == 202
    r = exports.kick("admin", "/$export", headers={"Accept": "application/fhir+json"})
    assert r.status_code == 400 and "respond-async" in r.text
    r = exports.kick("admin", "/$export", params={"_typeFilter": "Patient?gender=female"})
    assert r.status_code == 400
    # Non-admins may not export the whole store.
    for who in ("doctor", "citizen", "rssi_a"):
        r = exports.kick(who, "/$export")
        assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert exports.kick("outsider", "/Group/nope/$export").status_code == 404


def test_group_export_only_members_the_caller_may_read(
        exports: Exports, fhir: FhirClient, make_patient: Callable[..., str]) -> None:
    a = make_patient(family="Alpha")
    b = make_patient(holder=None, family="Beta")  # in the group, not for this export below
    make_patient(holder=None, family="Gamma")  # not in the group
    r = fhir("other_doctor", "POST", "/Patient", patient_body(family="Delta"))
    d = r.json()["id"]  # other_doctor's patient: the doctor may not read her
    obs_a, obs_d = _observe(fhir, a), _observe(fhir, d, who="other_doctor")
    group = {"resourceType": "Group", "type": "person", "actual": True,
             "member": [{"entity": {"reference": f"Patient/{x}"}} for x in (a, d)]}
    assert fhir("citizen", "POST", "/Group", group).status_code == 403
    r = fhir("doctor", "POST", "/Group", group)
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert fhir("doctor", "GET", f"/Group?member=Patient/{a}").json()["total"] == 1
    assert fhir("citizen", "GET", f"/Group/{gid}").status_code == 403

    _, got = exports.export("doctor", f"/Group/{gid}/$export")
    assert _ids(got["Patient"]) == {a}
    assert _ids(got["Observation"]) == {obs_a}
    _, got = exports.export("other_doctor", f"/Group/{gid}/$export")
    assert _ids(got["Patient"]) == {d} and _ids(got["Observation"]) == {obs_d}
    assert b not in _ids(got["Patient"])
    assert exports.kick("citizen", f"/Group/{gid}/$export").status_code == 403
    # Group appears in the CapabilityStatement.
    cap = fhir(None, "GET", "/metadata").json()
    assert "Group" in {r["type"] for r in cap["rest"][0]["resource"]}


def test_cancel_and_purge_remove_jobs_and_blobs(
        exports: Exports, fhir: FhirClient, make_patient: Callable[..., str], db: Session) -> None:
    p = make_patient()
    _observe(fhir, p)
    job_id, _ = exports.export("doctor", "/Patient/$export")
    job = db.get(ExportJob, job_id, populate_existing=True)
    assert job is not None
    blobs = [f["blob"] for f in job.output]
    assert blobs and all(_blob_path(b).exists() for b in blobs)
    assert fhir("doctor", "DELETE", f"/$export-status/{job_id}").status_code == 202
    assert fhir("doctor", "GET", f"/$export-status/{job_id}").status_code == 404
    assert not any(_blob_path(b).exists() for b in blobs)

    # A queued job cancelled before the worker takes it: the worker skips it.
    queued = exports.start("doctor", "/Patient/$export")
    assert fhir("doctor", "GET", f"/$export-status/{queued}").status_code == 202
    assert fhir("doctor", "DELETE", f"/$export-status/{queued}").status_code == 202
    assert exports.run(queued) == "skipped"

    # Expired jobs: gone from the API at once, purged with their files and data keys.
    job_id, _ = exports.export("doctor", "/Patient/$export")
    job = db.get(ExportJob, job_id, populate_existing=True)
    assert job is not None
    blobs = [f["blob"] for f in job.output]
    keys = db.scalar(select(func.count()).select_from(DataKey)
                     .where(DataKey.purpose == bulk.BLOB_PURPOSE))
    job.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert fhir("doctor", "GET", f"/$export-status/{job_id}").status_code == 404
    assert bulk.purge_expired(db) == 1
    db.commit()
    assert db.get(ExportJob, job_id) is None
    assert not any(_blob_path(b).exists() for b in blobs)
    assert db.scalar(select(func.count()).select_from(DataKey)
                     .where(DataKey.purpose == bulk.BLOB_PURPOSE)) == (keys or 0) - len(blobs)


def test_export_reads_page_by_page(exports: Exports, fhir: FhirClient,
                                   make_patient: Callable[..., str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_patient()
    obs = {_observe(fhir, p, value=float(v)) for v in range(7)}
    monkeypatch.setattr(bulk, "PAGE", 2)
    monkeypatch.setattr(bulk, "FILE_MAX", 3)
    seen: list[int] = []
    real = bulk.pages

    def spy(*args: Any, **kwargs: Any) -> Any:
        kwargs["page"] = bulk.PAGE
        for rows in real(*args, **kwargs):
            seen.append(len(rows))
            yield rows

    monkeypatch.setattr(bulk, "pages", spy)
    job_id, got = exports.export("doctor", "/Patient/$export", _type="Observation")
    assert _ids(got["Observation"]) == obs
    assert max(seen) == 2  # never more than a page in memory
    files = exports.manifest("doctor", job_id)["output"]
    assert [f["count"] for f in files] == [3, 3, 1]


@pytest.mark.slow
def test_cli_export_writes_ndjson_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            settings = Settings(mode="test", data_dir=data_dir, database_url=url)
            with Session(engine) as session:
                store = Store(session, settings)
                pids = [store.create(patient_body(family=f)).fid for f in ("Martin", "Durand")]
                obs = store.create(observation_body(pids[0])).fid
                store.create(practitioner_body("10000000553"))
                session.commit()
        finally:
            engine.dispose()
        env = {**os.environ, "ESANTE_MODE": "test", "ESANTE_DATA_DIR": str(data_dir),
               "ESANTE_DATABASE_URL": url, "COLUMNS": "200"}

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([sys.executable, "-m", "esante.cli", "fhir", "export", *args],
                                  env=env, capture_output=True, text=True, timeout=180,
                                  check=False)
            assert done.returncode == 0, done.stderr + done.stdout
            return done

        out = tmp_path / "export"
        done = cli("--out", str(out))
        assert "4 ressources exportées" in done.stdout
        assert sorted(p.name for p in out.iterdir()) == [
            "Observation.ndjson", "Patient.ndjson", "Practitioner.ndjson"]
        lines = (out / "Patient.ndjson").read_text().splitlines()
        patients = [get_fhir_model_class("Patient").model_validate(json.loads(x)) for x in lines]
        assert {p.id for p in patients} == set(pids)
        assert json.loads((out / "Observation.ndjson").read_text())["id"] == obs

        only = tmp_path / "only"
        cli("--type", "Observation", "--out", str(only))
        assert [p.name for p in only.iterdir()] == ["Observation.ndjson"]
        later = tmp_path / "later"
        done = cli("--since", (utcnow() + timedelta(days=1)).isoformat(), "--out", str(later))
        assert list(later.iterdir()) == [] and "0 ressources exportées" in done.stdout

        check = create_engine(url)
        try:
            with check.connect() as conn:
                refs = conn.scalars(select(AuditEvent.patient_ref).where(
                    AuditEvent.action == "fhir.export")).all()
                system = conn.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "fhir.export.system"))
        finally:
            check.dispose()
        # First run: both patients; --type Observation: the one with an observation.
        assert sorted(refs) == sorted([f"Patient/{pids[0]}", f"Patient/{pids[1]}",
                                       f"Patient/{pids[0]}"])
        assert system == 3
