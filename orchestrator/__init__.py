"""seglam: reasoning cached as code.

    from orchestrator import Seglam
    with Seglam.open() as seglam:
        result = seglam.run("Sum the amount column", {"table": "amount\n2\n3.5\n"})
        result.answer, result.route        # 5.5, "miss" (then "hit" for every later table)
"""
from .api import Seglam
from .errors import BadRequest, ConfigError, ProcedureNotFound, ProcedureRejected, SeglamError, StoreBusy
from .settings import Settings
from .storage.bundles import BundleRefused
from .storage.signing import SigningKeyError
from .types import Draft, ImportReport, Procedure, ProcedureTest, Provenance, Request, Result, TraceStep

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
