"""Cyber fixtures: declaring incidents through the API as the personas."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Personas

_keys = itertools.count(1)


def declaration(finess: str, **overrides: Any) -> dict[str, Any]:
    detected = datetime.now(UTC) - timedelta(hours=3)
    body: dict[str, Any] = {
        "finess": finess,
        "idempotency_key": f"test-key-{next(_keys):06d}",
        "title": "Rançongiciel sur le serveur de fichiers",
        "description": "Fichiers chiffrés, note de rançon sur les partages.",
        "detected_at": detected.isoformat(),
        "started_at": (detected - timedelta(hours=1)).isoformat(),
        "categories": ["operations", "data"],
        "malicious": "yes",
        "care_impact": {"degraded_mode": True, "transfers": 2, "cancelled_care": 15},
        "data_impact": {"confidentiality": True, "integrity": True, "availability": True,
                        "people_affected": 1200},
        "measures_taken": "Isolement du réseau, bascule en mode dégradé.",
        "personal_data_breach": True,
        "submit": True,
    }
    body.update(overrides)
    return body


@pytest.fixture
def declare(client: TestClient, personas: Personas) -> Callable[..., dict[str, Any]]:
    def go(who: str = "rssi_a", est: str = "A", **overrides: Any) -> dict[str, Any]:
        r = client.post("/api/cyber/incidents", headers=personas.auth(who),
                        json=declaration(personas.est[est].finess, **overrides))
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    return go
