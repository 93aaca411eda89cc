"""Extraction pipeline of the health data hub: pseudonyms, generalisation, measured risk.

The public facade; the machinery lives in the sibling modules.
"""

from esante.datahub.pipeline.errors import PipelineError
from esante.datahub.pipeline.spec import ExtractReport, ExtractSpec, Sensitivity, TableReport

__all__ = ["ExtractReport", "ExtractSpec", "PipelineError", "Sensitivity", "TableReport", "run_extract"]


def __getattr__(name: str) -> object:
    # run_extract pulls in DuckDB; import it lazily so the spec can be read without it.
    if name == "run_extract":
        from esante.datahub.pipeline.extract import run_extract

        return run_extract
    raise AttributeError(name)
