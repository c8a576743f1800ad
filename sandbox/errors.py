"""The typed outcomes of a sandboxed run that is not a value. All are SandboxError."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one run may use. The wall clock is enforced from outside the worker."""

    cpu_s: float = 2.0
    wall_s: float = 5.0
    memory_mb: int = 512
    output_bytes: int = 1_000_000

    def __post_init__(self):
        for name in ("cpu_s", "wall_s", "memory_mb", "output_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, not {value!r}")
        if self.wall_s < self.cpu_s:
            raise ValueError(f"Limits.wall_s ({self.wall_s}) must be at least cpu_s ({self.cpu_s}): "
                             "the wall clock is the backstop of the CPU limit")


class SandboxError(Exception):
    """A procedure run that produced no value; the message says why."""


class Violation(SandboxError):
    """The procedure tried something the policy forbids (at compile time or at run time)."""

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


class Timeout(SandboxError):
    """The procedure ran past its CPU or wall-clock limit."""


class MemoryLimit(SandboxError):
    """The procedure needed more memory than its limit."""


class OutputLimit(SandboxError):
    """The procedure's answer is larger than its limit."""


class ProcedureError(SandboxError):
    """The procedure raised; `traceback` holds only the procedure's own lines."""

    def __init__(self, exc_type: str, message: str, traceback: list[str]):
        self.exc_type = exc_type
        self.traceback = list(traceback)
        where = f" ({self.traceback[-1]})" if self.traceback else ""
        super().__init__(f"{exc_type}: {message}{where}")


class WorkerCrashed(SandboxError):
    """The worker process died or answered garbage; it has been replaced."""
