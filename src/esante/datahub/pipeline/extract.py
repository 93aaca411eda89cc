"""``run_extract``: the whole extract, written to a temporary directory renamed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from esante.datahub.pipeline.spec import ExtractReport, ExtractSpec

Engine = Literal["duckdb", "spark"]


def run_extract(spec: ExtractSpec, *, engine: Engine = "duckdb", out_dir: Path, key: bytes) -> ExtractReport:
    """Pseudonymise (HMAC-SHA-256 with the project ``key``), generalise to reach k/l/t, write Parquet.

    ``key`` comes from the trusted third party (``esante.datahub.pipeline.ttp.project_key``);
    ``out_dir`` must not exist yet: it appears complete or not at all.
    """
    raise NotImplementedError  # interface published first; implemented in the next commits
