"""Fixtures of the data hub's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from esante.datahub.pipeline.ttp import create_master_secret


@pytest.fixture
def hub_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trusted third party's secret and the extracts' folder, under the test's own dir."""
    secret = tmp_path / "ttp" / "master.key"
    create_master_secret(secret)
    monkeypatch.setenv("ESANTE_DATAHUB_TTP_SECRET_FILE", str(secret))
    monkeypatch.setenv("ESANTE_DATAHUB_EXTRACTS_DIR", str(tmp_path / "extracts"))
    return tmp_path / "extracts"
