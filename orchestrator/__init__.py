"""seglam: reasoning cached as code.

    from orchestrator import Seglam
    with Seglam.open() as seglam:
        result = seglam.run("Sum the amount column", {"table": "amount\n2\n3.5\n"})
        result.answer, result.route        # 5.5, "miss" (then "hit" for every later table)
"""
from typing import TYPE_CHECKING

from .errors import BadRequest, ConfigError, ProcedureNotFound, ProcedureRejected, SeglamError, StoreBusy
from .types import Draft, ImportReport, Procedure, ProcedureTest, Provenance, Request, Result, TraceStep

if TYPE_CHECKING:
    from .api import Seglam
    from .settings import Settings
    from .storage.bundles import BundleRefused
    from .storage.signing import SigningKeyError

# Loaded on first use: the command line's client of a service (`seglam --server URL ...`) needs
# none of LangGraph, Chroma or the sandbox, whose imports take a second.
_LAZY = {"Seglam": ".api", "Settings": ".settings", "BundleRefused": ".storage.bundles",
         "SigningKeyError": ".storage.signing"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")


__all__ = [
    "BadRequest",
    "BundleRefused",
    "ConfigError",
    "Draft",
    "ImportReport",
    "Procedure",
    "ProcedureNotFound",
    "ProcedureRejected",
    "ProcedureTest",
    "Provenance",
    "Request",
    "Result",
    "Seglam",
    "SeglamError",
    "SigningKeyError",
    "Settings",
    "StoreBusy",
    "TraceStep",
]
