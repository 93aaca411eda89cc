"""Deadline clocks, severity grid and workflow, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esante.cyber.incidents.rules import (
    PARIS,
    Status,
    add_month_paris,
    obligations,
    severity,
    transition_allowed,
)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def by_code(items):  # type: ignore[no-untyped-def]
    return {o.code: o for o in items}


def test_health_declaration_is_due_without_delay_and_done_when_declared() -> None:
    detected = paris(2026, 1, 10, 9, 0)
    o = by_code(obligations(detected_at=detected, declared_at=None, personal_data_breach=False,
                            nis2_in_scope=False, reports={}))
    assert list(o) == ["health_declaration"]
    assert o["health_declaration"].due_at is None
    assert o["health_declaration"].status(detected) == "due"
    done = by_code(obligations(detected_at=detected, declared_at=detected + timedelta(hours=2),
                               personal_data_breach=False, nis2_in_scope=False, reports={}))
    assert done["health_declaration"].status(detected + timedelta(days=3)) == "done"


def test_cnil_72_hours_when_personal_data_are_breached() -> None:
    detected = paris(2026, 6, 1, 23, 30)
    o = by_code(obligations(detected_at=detected, declared_at=detected, personal_data_breach=True,
                            nis2_in_scope=False, reports={}))
    assert o["cnil"].due_at == detected + timedelta(hours=72)
    assert o["cnil"].status(detected + timedelta(hours=71)) == "due"
    assert o["cnil"].status(detected + timedelta(hours=73)) == "overdue"
    sent = by_code(obligations(detected_at=detected, declared_at=detected,
                               personal_data_breach=True, nis2_in_scope=False,
                               reports={"cnil": detected + timedelta(hours=80)}))
    assert sent["cnil"].status(detected + timedelta(hours=100)) == "done"


def test_nis2_clocks_only_in_scope() -> None:
    detected = paris(2026, 2, 3, 14, 0)
    out = by_code(obligations(detected_at=detected, declared_at=detected,
                              personal_data_breach=False, nis2_in_scope=False, reports={}))
    assert not any(code.startswith("nis2") for code in out)
    o = by_code(obligations(detected_at=detected, declared_at=detected, personal_data_breach=False,
                            nis2_in_scope=True, reports={}))
    assert o["nis2_early_warning"].due_at == detected + timedelta(hours=24)
    assert o["nis2_notification"].due_at == detected + timedelta(hours=72)
    # One month after the notification (not yet sent: after its due time).
    assert o["nis2_final_report"].due_at == paris(2026, 3, 6, 14, 0)
    notified = detected + timedelta(hours=30)
    o2 = by_code(obligations(detected_at=detected, declared_at=detected,
                             personal_data_breach=False, nis2_in_scope=True,
                             reports={"nis2_notification": notified}))
    assert o2["nis2_final_report"].due_at == add_month_paris(notified)
    assert o2["nis2_notification"].status(detected + timedelta(days=10)) == "done"


def test_hours_are_elapsed_time_across_daylight_saving() -> None:
    # The clocks go forward on 2026-03-29 at 02:00 in Paris.
    detected = paris(2026, 3, 28, 10, 0)
    o = by_code(obligations(detected_at=detected, declared_at=detected, personal_data_breach=False,
                            nis2_in_scope=True, reports={}))
    due = o["nis2_early_warning"].due_at
    assert due is not None
    assert due - detected == timedelta(hours=24)
    assert due.astimezone(PARIS).hour == 11  # 24 h later reads 11:00 on the wall clock


def test_a_month_is_a_calendar_month_in_paris() -> None:
    # 2026-10-25 the clocks go back; a month after 30 September 10:00 is 30 October 10:00.
    assert add_month_paris(paris(2026, 9, 30, 10, 0)).astimezone(PARIS).hour == 10
    assert add_month_paris(paris(2026, 9, 30, 10, 0)).astimezone(PARIS).day == 30
    # 31 January + 1 month → last day of February.
    assert add_month_paris(paris(2026, 1, 31, 8, 0)).astimezone(PARIS).day == 28
    assert add_month_paris(paris(2026, 12, 15, 8, 0)).astimezone(PARIS).year == 2027


@pytest.mark.parametrize(("care", "data", "spread", "level"), [
    (0, 0, 0, 1), (1, 0, 0, 2), (0, 1, 1, 2), (2, 0, 0, 3), (0, 2, 0, 3), (0, 0, 2, 3),
    (3, 0, 0, 4), (0, 3, 0, 4), (2, 1, 2, 4), (1, 1, 2, 3),
])
def test_severity_grid(care: int, data: int, spread: int, level: int) -> None:
    assert severity(care, data, spread) == level


def test_severity_out_of_grid() -> None:
    with pytest.raises(ValueError, match="hors grille"):
        severity(4, 0, 0)


ALLOWED = {("draft", "declared"), ("declared", "acknowledged"), ("acknowledged", "qualified"),
           ("qualified", "remediation"), ("qualified", "closed"), ("remediation", "closed"),
           ("closed", "remediation")}


@pytest.mark.parametrize("current", [s.value for s in Status])
@pytest.mark.parametrize("target", [s.value for s in Status])
def test_every_transition(current: str, target: str) -> None:
    who = transition_allowed(current, target)
    assert (who is not None) == ((current, target) in ALLOWED)
    if who:
        assert who == ("establishment" if current == "draft" else "cell")
