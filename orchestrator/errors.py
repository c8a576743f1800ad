"""Errors a caller can act on; each message says what was wrong and what to do."""


class SeglamError(Exception):
    """Base of every error seglam raises on purpose."""


class BadRequest(SeglamError):
    """The request itself is malformed: empty task, non-JSON inputs, unknown namespace form."""


class ProcedureNotFound(SeglamError):
    def __init__(self, procedure_id: str, namespace: str | None = None):
        where = f" in namespace {namespace!r}" if namespace else ""
        super().__init__(f"no procedure {procedure_id!r}{where}; `seglam procedures list` shows them")


class StoreBusy(SeglamError):
    """Another process holds this embedded store for writing."""


class ConfigError(SeglamError):
    """A setting is wrong: a malformed Chroma URL, a missing model file."""


class ProcedureRejected(SeglamError):
    """A procedure failed verification and was not admitted."""

    def __init__(self, name: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"procedure {name!r} was not admitted:\n- " + "\n- ".join(problems))
