"""Runs untrusted procedures: RestrictedPython (language) inside isolated workers (process).

    from sandbox import Sandbox, Limits
    with Sandbox() as sandbox:
        sandbox.run("def solve(x):\n    return x * 2\n", {"x": 21})   # 42
"""
from .errors import (
    Limits,
    MemoryLimit,
    OutputLimit,
    ProcedureError,
    SandboxError,
    Timeout,
    Violation,
    WorkerCrashed,
)
from .policy import complete_imports, mended
from .pool import Sandbox, SandboxWarning

__all__ = [
    "Limits",
    "MemoryLimit",
    "OutputLimit",
    "ProcedureError",
    "Sandbox",
    "SandboxError",
    "SandboxWarning",
    "Timeout",
    "Violation",
    "WorkerCrashed",
    "complete_imports",
    "mended",
]
