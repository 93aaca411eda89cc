"""Backups: round trip on the suite's database engine (each test on a database of its
own, with committed data), corrupt archives refused, non-empty database refused without
force, keys never in the archive, and the ``esante backup`` commands."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import secrets
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from esante.core import backup, migrate
from esante.core.accounts import service as accounts
from esante.core.accounts.models import User
from esante.core.audit import Actor, AuditEvent, record, seal, verify_chain
from esante.core.crypto import BlobStore, KeyRing, Vault
from esante.core.db import get_engine, make_engine, transaction
from esante.core.errors import Conflict, Invalid
from esante.core.models import Base
from esante.core.notifications.models import OutboundMail
from esante.core.settings import Settings, get_settings
from tests.factories import Personas, make_personas
from tests.freshdb import fresh_database_url

PG_URL = os.environ.get("ESANTE_DATABASE_URL", "")


@contextmanager
def fresh_database(directory: Path, *, postgres: bool | None = None) -> Iterator[str]:
    """The URL of a new, empty database on the suite's engine (dropped afterwards)."""
    with fresh_database_url(directory, prefix="esante_bk", postgres=postgres) as url:
        yield url


@dataclass
class Site:
    """One installation: a database and a data folder; the key ring is shared (kept
    apart, as the operator would put it back after a restore)."""

    url: str
    data_dir: Path
    settings: Settings
    engine: Engine


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    keyring = tmp_path / "offline-keys" / "keyring.json"
    made: list[Site] = []

    def make(label: str, *, migrated: bool = True, postgres: bool | None = None) -> Site:
        data_dir = tmp_path / label
        data_dir.mkdir()
        cm = fresh_database(tmp_path, postgres=postgres)
        url = cm.__enter__()
        stack.append(cm)
        settings = Settings(data_dir=data_dir, database_url=url, keyring_path=keyring)
        engine = make_engine(url)
        if migrated:
            migrate.upgrade(engine)
        site = Site(url, data_dir, settings, engine)
        made.append(site)
        return site

    def use(site: Site) -> None:
        """Point the process settings (services, CLI) at ``site``."""
        monkeypatch.setenv("ESANTE_DATABASE_URL", site.url)
        monkeypatch.setenv("ESANTE_DATA_DIR", str(site.data_dir))
        monkeypatch.setenv("ESANTE_KEYRING_PATH", str(keyring))
        for name in ("ESANTE_MASTER_KEY", "ESANTE_MASTER_KEY_FILE", "ESANTE_BLOB_DIR"):
            monkeypatch.delenv(name, raising=False)
        _clear_caches()

    stack: list[Any] = []
    make.use = use
    try:
        yield make
    finally:
        _clear_caches()
        for site in made:
            site.engine.dispose()
        for cm in reversed(stack):
            cm.__exit__(None, None, None)


def _clear_caches() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


@dataclass
class Seed:
    personas: Personas
    blobs: dict[str, bytes]


def seed(site: Site) -> Seed:
    """Committed data: personas (TOTP secrets encrypted), audit events with JSON details,
    encrypted files, a row with NULLs and non-ASCII text."""
    with transaction(site.engine) as session:
        people = make_personas(session)
        store = BlobStore(Vault(session, site.settings))
        blobs = {}
        for i in range(4):
            data = f"compte rendu n°{i} — patiente Zoé\n".encode() * (i * 300 + 1)
            blobs[store.put(data, purpose="document")] = data
        noise = secrets.token_bytes(5000)
        blobs[store.put(noise, purpose="image")] = noise
        record(session, actor=Actor(people.users["doctor"].id, "Doctor", "10.0.0.1"),
               action="record.read", object_type="document", object_id=next(iter(blobs)),
               subject_user_id=people.users["citizen"].id, justification="soins",
               details={"n": 1.5, "liste": [1, "deux", None], "imbriqué": {"a": True}})
        session.add(OutboundMail(to_addr="zoé@example.fr", subject="Résultats",
                                 body="Bonjour,\n\u00e9t\u00e9 ✓", last_error=""))
    return Seed(people, blobs)


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, ordered by primary key, as Python values."""
    out = {}
    with engine.connect() as conn:
        for tbl in Base.metadata.sorted_tables:
            order = list(tbl.primary_key.columns)
            out[tbl.name] = [dict(r._mapping) for r in conn.execute(
                select(tbl).order_by(*order))]
    return out


def blob_tree(site: Site) -> dict[str, bytes]:
    root = site.settings.resolved_blob_dir
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_restored(site: Site, before: dict[str, list[dict[str, Any]]], data: Seed) -> None:
    after = rows(site.engine)
    # The restore itself is audited, after the restored chain.
    *restored_events, last = after["audit_events"]
    assert last["action"] == "backup.restore"
    assert last["seq"] is None  # appended after the restored records; the sealer chains it
    after["audit_events"] = restored_events
    assert after == before
    with Session(site.engine) as session:
        seal(session)
        session.commit()
        report = verify_chain(session)
        assert report.ok
        assert report.checked == len(before["audit_events"]) + 1
        assert report.pending == 0
        store = BlobStore(Vault(session, site.settings))
        for blob_id, plain in data.blobs.items():
            assert store.get(blob_id) == plain
        vault = Vault(session, site.settings)
        for name, secret in data.personas.totp.items():
            user = session.get(User, data.personas.users[name].id)
            assert user is not None and user.totp_secret_enc
            assert vault.decrypt_text(user.totp_secret_enc, context=f"totp:{user.id}") == secret
        user, _ = accounts.authenticate_token(session, data.personas.tokens["admin"])
        assert user.email == "admin@test.esante.fr"


def test_round_trip_replaces_damaged_data(sites, tmp_path):
    site = sites("a")
    sites.use(site)
    data = seed(site)
    before = rows(site.engine)
    files_before = blob_tree(site)
    archive = tmp_path / "sauvegarde.tar.gz"

    seen: list[tuple[str, int, int | None]] = []
    report = backup.create_backup(archive, settings=site.settings, engine=site.engine,
                                  progress=lambda *a: seen.append(a))
    assert report.rows == sum(len(v) for v in before.values())
    assert report.files == len(data.blobs) == len(files_before)
    assert report.table_rows["users"] == len(before["users"])
    assert "ligne(s)" in report.summary_fr() and "trousseau" in report.summary_fr()
    assert ("Lignes de la base", report.rows, report.rows) in seen
    assert ("Fichiers chiffrés", report.files, report.files) in seen

    manifest = backup.read_manifest(archive)
    assert manifest["alembic_revision"] == migrate.head_revision()
    assert manifest["tables"]["audit_events"]["rows"] == len(before["audit_events"])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert names[-1] == "manifest.json"
        for name in names[:-1]:
            member = tar.extractfile(name)
            assert member is not None
            digest = hashlib.sha256(member.read()).hexdigest()
            assert manifest["files"][name]["sha256"] == digest
    assert set(manifest["files"]) == set(names[:-1])

    # Damage: a row changed, rows deleted, an intruder added, files lost and added.
    with transaction(site.engine) as session:
        session.execute(text("UPDATE users SET display_name = 'pirate' WHERE id = :i"),
                        {"i": data.personas.users["admin"].id})
        session.execute(text("DELETE FROM api_tokens"))
        accounts.create_user(session, actor=Actor.system("t"), email="intrus@example.fr",
                             password="another-long-password-1", display_name="Intrus")
    root = site.settings.resolved_blob_dir
    victim = next(iter(data.blobs))
    (root / victim[:2] / victim).unlink()
    (root / "zz").mkdir()
    (root / "zz" / "intrus").write_bytes(b"junk")

    restore_seen: list[tuple[str, int, int | None]] = []
    result = backup.restore_backup(archive, force=True, settings=site.settings,
                                   engine=site.engine,
                                   progress=lambda *a: restore_seen.append(a))
    assert result.rows == report.rows and result.files == report.files
    assert "restaurée" in result.summary_fr()
    assert any(label == "Vérification" for label, _, _ in restore_seen)
    assert blob_tree(site) == files_before
    assert_restored(site, before, data)
    # No staging folder left behind.
    assert sorted(p.name for p in site.data_dir.iterdir() if p.name.startswith(".")) == []


def test_restore_into_new_empty_database(sites, tmp_path):
    """No schema at all: created at the backup's revision, rows loaded, sequences set."""
    source = sites("source")
    sites.use(source)
    data = seed(source)
    before = rows(source.engine)
    archive = tmp_path / "b.tar.gz"
    backup.create_backup(archive, settings=source.settings, engine=source.engine)

    target = sites("target", migrated=False)
    assert migrate.current_revision(target.engine) is None
    report = backup.restore_backup(archive, settings=target.settings, engine=target.engine)
    assert migrate.current_revision(target.engine) == migrate.head_revision()
    assert report.upgraded_to is None
    assert blob_tree(target) == blob_tree(source)
    assert_restored(target, before, data)

    # The id sequences follow the restored rows (PostgreSQL: setval).
    with transaction(target.engine) as session:
        user = accounts.create_user(session, actor=Actor.system("t"), email="new@example.fr",
                                    password="another-long-password-1", display_name="Nouveau")
        assert user.id > max(u["id"] for u in before["users"])
        ev = record(session, actor=Actor.system("t"), action="t", object_type="t",
                    object_id=1)
        assert ev.id > max(e["id"] for e in before["audit_events"])


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="needs PostgreSQL")
def test_sqlite_backup_restores_into_postgresql(sites, tmp_path):
    source = sites("sqlite", postgres=False)
    sites.use(source)
    data = seed(source)
    before = rows(source.engine)
    archive = tmp_path / "portable.tar.gz"
    backup.create_backup(archive, settings=source.settings, engine=source.engine)
    assert backup.read_manifest(archive)["source_dialect"] == "sqlite"

    target = sites("pg", postgres=True)
    backup.restore_backup(archive, settings=target.settings, engine=target.engine)
    assert_restored(target, before, data)


def _rewrite(archive: Path, out: Path, change: Any) -> None:
    """Copy a backup member by member, letting ``change(name, data)`` alter or drop one."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            fh = src.extractfile(member)
            assert fh is not None
            data = change(member.name, fh.read())
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def _truncated(archive: Path, out: Path) -> None:
    out.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])


def _flipped(archive: Path, out: Path) -> None:
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    out.write_bytes(bytes(raw))


def _row_altered(archive: Path, out: Path) -> None:
    _rewrite(archive, out, lambda name, data: data.replace(
        b"CHU de Paris", b"CHU de Pirates") if name == "db/establishments.jsonl" else data)


def _blob_dropped(archive: Path, out: Path) -> None:
    dropped: list[str] = []

    def change(name: str, data: bytes) -> bytes | None:
        if name.startswith("blobs/") and not dropped:
            dropped.append(name)
            return None
        return data

    _rewrite(archive, out, change)


def _no_manifest(archive: Path, out: Path) -> None:
    _rewrite(archive, out, lambda name, data: None if name == "manifest.json" else data)


def _path_escape(archive: Path, out: Path) -> None:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member))
        evil = tarfile.TarInfo("blobs/../../evil")
        evil.size = 3
        dst.addfile(evil, io.BytesIO(b"bad"))


@pytest.mark.parametrize(("damage", "message"), [
    (_truncated, "illisible ou tronquée"),
    (_flipped, "rien n'a été modifié"),  # gzip or checksum error, wherever it lands
    (_row_altered, "empreinte SHA-256 différente pour « db/establishments.jsonl »"),
    (_blob_dropped, "1 élément(s) manquant(s)"),
    (_no_manifest, "manifeste absent"),
    (_path_escape, "élément inattendu"),
])
def test_corrupt_archive_refused_and_nothing_changed(sites, tmp_path, damage, message):
    site = sites("a")
    sites.use(site)
    seed(site)
    archive = tmp_path / "ok.tar.gz"
    backup.create_backup(archive, settings=site.settings, engine=site.engine)
    # The database now differs from the backup: a restore would change it.
    with transaction(site.engine) as session:
        accounts.create_user(session, actor=Actor.system("t"), email="apres@example.fr",
                             password="another-long-password-1", display_name="Après")
    before = rows(site.engine)
    files_before = blob_tree(site)

    bad = tmp_path / "bad.tar.gz"
    damage(archive, bad)
    with pytest.raises(Invalid) as exc:
        backup.restore_backup(bad, force=True, settings=site.settings, engine=site.engine)
    assert message in exc.value.fr
    assert rows(site.engine) == before
    assert blob_tree(site) == files_before
    assert not (tmp_path / "evil").exists()
    assert [p.name for p in site.data_dir.iterdir() if p.name.startswith(".")] == []


def test_not_a_backup_refused(sites, tmp_path):
    site = sites("a")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(gzip.compress(b"not a tar at all" * 100))
    with pytest.raises(Invalid, match="illisible"):
        backup.restore_backup(junk, settings=site.settings, engine=site.engine)
    with pytest.raises(Invalid, match="introuvable"):
        backup.restore_backup(tmp_path / "absent.tar.gz", settings=site.settings,
                              engine=site.engine)


def test_restore_into_non_empty_database_needs_force(sites, tmp_path):
    site = sites("a")
    sites.use(site)
    seed(site)
    archive = tmp_path / "b.tar.gz"
    backup.create_backup(archive, settings=site.settings, engine=site.engine)
    before = rows(site.engine)
    with pytest.raises(Conflict, match="--force"):
        backup.restore_backup(archive, settings=site.settings, engine=site.engine)
    assert rows(site.engine) == before

    # Empty tables but files in the folder: refused as well.
    other = sites("b")
    (other.settings.resolved_blob_dir / "ab").mkdir(parents=True)
    (other.settings.resolved_blob_dir / "ab" / "abcdef").write_bytes(b"x")
    with pytest.raises(Conflict):
        backup.restore_backup(archive, settings=other.settings, engine=other.engine)
    assert rows(other.engine)["users"] == []


def test_revision_mismatch_refused(sites, tmp_path):
    site = sites("a")
    archive = tmp_path / "b.tar.gz"
    backup.create_backup(archive, settings=site.settings, engine=site.engine)

    def fake_revision(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["alembic_revision"] = "ffffffffffff"
        return json.dumps(manifest).encode()

    future = tmp_path / "future.tar.gz"
    _rewrite(archive, future, fake_revision)
    with pytest.raises(Invalid, match="inconnue de cette version"):
        backup.restore_backup(future, force=True, settings=site.settings, engine=site.engine)


def _all_member_bytes(archive: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(archive) as tar:
        out = []
        for member in tar.getmembers():
            fh = tar.extractfile(member)
            assert fh is not None
            out.append((member.name, fh.read()))
        return out


def test_keyring_never_in_the_archive(sites, tmp_path):
    site = sites("a")
    sites.use(site)
    seed(site)
    # Even a key ring misplaced inside the blob folder stays out of the backup.
    misplaced = site.settings.resolved_blob_dir / "keyring.json"
    odd = Settings(data_dir=site.data_dir, database_url=site.url, keyring_path=misplaced)
    odd_ring = KeyRing.create(misplaced)
    with transaction(site.engine) as session:
        BlobStore(Vault(session, odd)).put(b"secret", purpose="document")

    archive = tmp_path / "b.tar.gz"
    backup.create_backup(archive, settings=odd, engine=site.engine)
    backup.create_backup(tmp_path / "c.tar.gz", settings=site.settings, engine=site.engine)
    ring = KeyRing.load(site.settings)
    keys = [*ring.keys.values(), *odd_ring.keys.values()]
    assert len(keys) == 2
    for path in (archive, tmp_path / "c.tar.gz"):
        members = _all_member_bytes(path)
        names = [name for name, _ in members]
        assert not [n for n in names if "keyring" in n or "keys/" in n]
        for _name, data in members:
            for key in keys:
                assert key not in data
                assert base64.b64encode(key) not in data
        manifest = json.loads(dict(members)["manifest.json"])
        assert manifest["master_keys_included"] is False
        assert manifest["tables"]["data_keys"]["rows"] > 0  # wrapped data keys are in

    # Restoring with the key ring inside the blob folder would replace it: refused.
    with pytest.raises(Invalid, match="trousseau"):
        backup.restore_backup(archive, force=True, settings=odd, engine=site.engine)
    assert misplaced.exists()


def out(result) -> str:  # type: ignore[no-untyped-def]
    """The command's output on one line (rich wraps long lines)."""
    return " ".join(result.output.split())


def test_cli_round_trip(sites, tmp_path):
    from esante.cli import app

    runner = CliRunner()
    source = sites("source")
    sites.use(source)
    data = seed(source)
    before = rows(source.engine)
    archive = tmp_path / "cli.tar.gz"

    result = runner.invoke(app, ["backup", "create", str(archive)])
    assert result.exit_code == 0, result.output
    assert "sauvegarde écrite" in out(result)
    assert archive.exists()

    refused = runner.invoke(app, ["backup", "restore", str(archive)])
    assert refused.exit_code == 1
    assert "--force" in out(refused)

    target = sites("target", migrated=False)
    sites.use(target)
    result = runner.invoke(app, ["backup", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "restaurée" in out(result)
    assert f"{len(data.blobs)} fichier(s)" in out(result)
    assert_restored(target, before, data)

    # --force asks for confirmation; "n" leaves everything as it is.
    sites.use(source)
    with transaction(source.engine) as session:
        session.execute(text("DELETE FROM api_tokens"))
    declined = runner.invoke(app, ["backup", "restore", str(archive), "--force"], input="n\n")
    assert declined.exit_code != 0
    assert rows(source.engine)["api_tokens"] == []
    accepted = runner.invoke(app, ["backup", "restore", str(archive), "--force"], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert len(rows(source.engine)["api_tokens"]) == len(before["api_tokens"])

    corrupt = tmp_path / "corrupt.tar.gz"
    _truncated(archive, corrupt)
    result = runner.invoke(app, ["backup", "restore", str(corrupt), "--force", "--yes"])
    assert result.exit_code == 1
    assert "illisible ou tronquée" in out(result)


def test_backup_is_audited(sites, tmp_path):
    site = sites("a")
    backup.create_backup(tmp_path / "x.tar.gz", settings=site.settings, engine=site.engine)
    with Session(site.engine) as session:
        events = session.scalars(select(AuditEvent)).all()
    assert [e.action for e in events] == ["backup.create"]
    assert events[0].object_id == "x.tar.gz"


def test_backup_reads_one_snapshot_while_writers_go_on(sites, tmp_path):
    """Rows committed while the backup runs are not in it, and writers are not blocked."""
    site = sites("a")
    sites.use(site)
    seed(site)
    users_before = len(rows(site.engine)["users"])
    written: list[int] = []

    def write_meanwhile(label: str, done: int, total: int | None) -> None:
        if label == "Lignes de la base" and not written:
            with transaction(site.engine) as session:
                user = accounts.create_user(
                    session, actor=Actor.system("t"), email="pendant@example.fr",
                    password="another-long-password-1", display_name="Pendant")
                written.append(user.id)

    archive = tmp_path / "b.tar.gz"
    report = backup.create_backup(archive, settings=site.settings, engine=site.engine,
                                  progress=write_meanwhile)
    assert written
    assert report.table_rows["users"] == users_before
    users = dict(_all_member_bytes(archive))["db/users.jsonl"]
    assert b"pendant@example.fr" not in users
    assert len(users.splitlines()) == users_before
    assert len(rows(site.engine)["users"]) == users_before + 1


@pytest.mark.parametrize("mounted", [False, True], ids=["folder", "mount-point"])
def test_failure_after_file_swap_leaves_old_data_and_files(sites, tmp_path, monkeypatch,
                                                           mounted):
    """A failure just before commit puts the old files back and rolls the rows back
    (the folder is renamed; a volume's entries are moved one by one)."""
    monkeypatch.setattr(backup, "_is_mount", lambda path: mounted and path.is_dir())
    site = sites("a")
    sites.use(site)
    data = seed(site)
    archive = tmp_path / "b.tar.gz"
    backup.create_backup(archive, settings=site.settings, engine=site.engine)
    with transaction(site.engine) as session:
        accounts.create_user(session, actor=Actor.system("t"), email="apres@example.fr",
                             password="another-long-password-1", display_name="Après")
    blob_id = next(iter(data.blobs))
    (site.settings.resolved_blob_dir / blob_id[:2] / blob_id).unlink()
    before = rows(site.engine)
    files_before = blob_tree(site)

    def crash(label: str, done: int, total: int | None) -> None:
        if label == "Fichiers chiffrés":
            assert blob_tree(site) != files_before  # the new files are in place
            raise RuntimeError("panne avant la validation")

    with pytest.raises(RuntimeError):
        backup.restore_backup(archive, force=True, settings=site.settings,
                              engine=site.engine, progress=crash)
    assert rows(site.engine) == before
    assert blob_tree(site) == files_before
    root = site.settings.resolved_blob_dir
    assert [p for p in [*site.data_dir.iterdir(), *root.iterdir()]
            if p.name.startswith(".")] == []

    # The same restore without the failure goes through.
    backup.restore_backup(archive, force=True, settings=site.settings, engine=site.engine)
    assert blob_id in {p.name for p in root.rglob("*")}
    assert [p for p in [*site.data_dir.iterdir(), *root.iterdir()]
            if p.name.startswith(".")] == []
