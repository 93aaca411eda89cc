"""Errors of the extraction pipeline: each one precise, in French first."""

from __future__ import annotations

from esante.core.errors import Invalid


class PipelineError(Invalid):
    """Bad input to an extract, a risk measure or an output check; nothing is written."""
