"""The gateway's group commit: messages that arrive while the writer is busy are written in
one transaction; one that fails leaves the others committed (written again without it, in
the same order) and gets its own outcome; a group whose commit fails is written again
message by message. Nobody hears of success before the commit."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from esante.core.errors import Invalid
from esante.messaging import gateway
from esante.messaging.models import Thread


class _Sessions:
    """Sessions on the test's connection, numbered; with ``fail_group``, the next commit of
    a session that ran more than one job fails."""

    def __init__(self, db: Session) -> None:
        self.conn = db.connection()
        self.numbers = itertools.count(1)
        self.fail_group = False

    def __call__(self) -> Session:
        sessions = self

        class Flaky(Session):
            def commit(self) -> None:
                if sessions.fail_group and self.info.get("jobs", 0) > 1:
                    sessions.fail_group = False
                    raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
                super().commit()

        s = Flaky(bind=self.conn, join_transaction_mode="create_savepoint",
                  expire_on_commit=False)
        s.info["n"] = next(self.numbers)
        return s


def _run(writer: gateway.Writer, jobs: list[Callable[[Session], Any]]) -> list[Any]:
    """The first job holds the writer while the others queue: they form one group."""
    gate = threading.Event()

    async def main() -> list[Any]:
        first = asyncio.ensure_future(writer.write(lambda _s: gate.wait(10) and "first"))
        await asyncio.sleep(0.2)
        rest = [asyncio.ensure_future(writer.write(j)) for j in jobs]
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)
    try:
        return asyncio.run(main())
    finally:
        writer.close()


def _roots(db: Session) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(Thread.root_message_id).where(
        Thread.root_message_id.like("<w-%"))))


def test_a_refused_message_leaves_the_others_of_its_group_committed(db):
    sessions = _Sessions(db)
    seen: list[tuple[str, int]] = []

    def insert(root: str, refuse: bool = False) -> Callable[[Session], Any]:
        def fn(s: Session) -> str:
            seen.append((root, s.info["n"]))
            s.add(Thread(root_message_id=root))
            s.flush()  # written, then refused: must not stay
            if refuse:
                raise Invalid("refusé", "refused", code="test")
            return root
        return fn

    out = _run(gateway.Writer(sessions),  # type: ignore[arg-type]
               [insert("<w-a>"), insert("<w-b>"), insert("<w-c>", refuse=True),
                insert("<w-d>")])
    assert out[:3] == ["first", "<w-a>", "<w-b>"] and out[4] == "<w-d>"
    assert isinstance(out[3], Invalid)
    assert _roots(db) == {"<w-a>", "<w-b>", "<w-d>"}
    # a, b and c in one transaction; then a and b again together, c alone, d alone.
    first_pass = {n for r, n in seen[:3]}
    assert len(first_pass) == 1 and [r for r, _ in seen[:3]] == ["<w-a>", "<w-b>", "<w-c>"]
    assert seen[3][1] == seen[4][1] and [r for r, _ in seen[3:]] == [
        "<w-a>", "<w-b>", "<w-c>", "<w-d>"]


def test_a_failed_group_commit_writes_each_message_alone(db):
    sessions = _Sessions(db)
    sessions.fail_group = True
    seen: list[tuple[str, int]] = []

    def insert(root: str) -> Callable[[Session], Any]:
        def fn(s: Session) -> str:
            s.info["jobs"] = s.info.get("jobs", 0) + 1
            seen.append((root, s.info["n"]))
            s.add(Thread(root_message_id=root))
            s.flush()
            return root
        return fn

    out = _run(gateway.Writer(sessions),  # type: ignore[arg-type]
               [insert("<w-x>"), insert("<w-y>"), insert("<w-z>")])
    assert out == ["first", "<w-x>", "<w-y>", "<w-z>"]
    assert _roots(db) == {"<w-x>", "<w-y>", "<w-z>"}
    assert not sessions.fail_group  # the group's commit did fail
    assert len({n for _, n in seen[:3]}) == 1 and len({n for _, n in seen[3:]}) == 3
