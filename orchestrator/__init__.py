"""seglam's orchestrator: the graph that answers requests from cached procedures."""
from .api import Seglam
from .errors import BadRequest, ProcedureNotFound, SeglamError, StoreBusy, SynthesisFailed
from .state import Settings
from .types import Procedure, Request, Result, TraceStep

__all__ = [
    "BadRequest",
    "Procedure",
    "ProcedureNotFound",
    "Request",
    "Result",
    "Seglam",
    "SeglamError",
    "Settings",
    "StoreBusy",
    "SynthesisFailed",
    "TraceStep",
]
