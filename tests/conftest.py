"""Test fixtures: a real database (SQLite by default, PostgreSQL when
ESANTE_DATABASE_URL is set), migrated once with Alembic, each test inside a transaction
that is rolled back; named personas with API tokens."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="esante-tests-"))
os.environ.setdefault("ESANTE_MODE", "test")
os.environ["ESANTE_DATA_DIR"] = str(_TMP)
# The public base URL (OAuth issuer, FHIR audience, links) is the test client's.
os.environ["ESANTE_BASE_URL"] = "https://testserver"
os.environ.setdefault("ESANTE_ARGON2_TIME_COST", "1")
os.environ.setdefault("ESANTE_ARGON2_MEMORY_KIB", "1024")

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from esante.core import migrate  # noqa: E402
from esante.core.accounts.models import User  # noqa: E402
from esante.core.db import make_engine  # noqa: E402
from esante.core.orgs.models import Establishment  # noqa: E402
from esante.core.settings import get_settings  # noqa: E402
from tests.factories import Personas, make_personas  # noqa: E402

PG_URL = os.environ.get("ESANTE_DATABASE_URL", "")


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> str:
    return PG_URL or f"sqlite:///{_TMP / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    if database_url.startswith("postgresql"):
        reset_postgres(database_url)
    eng = make_engine(database_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a savepoint of one outer transaction, rolled back
    at the end of the test."""
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()


@pytest.fixture(scope="session")
def _shared_app():  # type: ignore[no-untyped-def]
    """One app for the whole run (building one per test costs time, and FastAPI's caches
    keep every app alive); each test gives it a session factory bound to its own
    rolled-back transaction."""
    from esante.web.app import create_app

    return create_app(get_settings(), factory=lambda: None)  # type: ignore[arg-type, return-value]


def on_test_connection(db: Session) -> Callable[[], Session]:
    """Sessions for what a test runs beside it (an app, a server, a worker): on the test's
    connection, each commit a savepoint, all rolled back with the test."""
    conn = db.connection()

    def factory() -> Session:
        return Session(bind=conn, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)
    return factory


@pytest.fixture
def app(_shared_app, db: Session):  # type: ignore[no-untyped-def]
    _shared_app.state.session_factory = on_test_connection(db)
    return _shared_app


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    # https: the session cookie is Secure and the client must send it back.
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture(scope="session")
def _saved_personas(engine: Engine) -> Personas:
    """The personas, written once for the whole run (committed: every test's own changes
    to them are rolled back with its transaction)."""
    with Session(bind=engine, expire_on_commit=False) as session:
        made = make_personas(session)
        session.commit()
    return made


@pytest.fixture
def personas(db: Session, _saved_personas: Personas) -> Personas:
    """The personas as objects of this test's session."""
    saved = _saved_personas
    return Personas(users={k: db.get_one(User, u.id) for k, u in saved.users.items()},
                    tokens=dict(saved.tokens), totp=dict(saved.totp),
                    est={k: db.get_one(Establishment, e.id) for k, e in saved.est.items()})


@pytest.fixture
def data_dir() -> Path:
    return _TMP
