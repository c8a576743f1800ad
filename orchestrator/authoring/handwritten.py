"""Procedures a person writes: a Python file defining `solve(...)` with annotated parameters
and, optionally, `TESTS = [{"inputs": {...}, "expected": ...}, ...]`.

Experts seed a cache this way, and it is how the cache is exercised without a model. The
file is read with `ast`, never imported or run here: it runs only in the sandbox, during
the same verification a synthesized procedure goes through.
"""
from __future__ import annotations

import ast
from pathlib import Path

from ..errors import SeglamError
from ..prompts.common import returns_schema
from ..types import Draft, ProcedureTest

ANNOTATION_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
                    "list": "array", "dict": "object"}


class InvalidProcedureFile(SeglamError):
    """A hand-written procedure file is not of the form seglam admits."""


def parse_procedure_file(path: Path, intent: str, name: str | None = None) -> Draft:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidProcedureFile(f"cannot read {path} as UTF-8 text ({error})") from None
    return parse_procedure_source(source, intent, name or path.stem, str(path))


def parse_procedure_source(source: str, intent: str, name: str, where: str = "<source>") -> Draft:
    if not intent or not intent.strip():
        raise InvalidProcedureFile("--intent is empty: say in one sentence exactly what the procedure computes")
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise InvalidProcedureFile(f"{where}:{error.lineno}: {error.msg}") from None
    solve = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "solve"), None)
    if solve is None:
        raise InvalidProcedureFile(f"{where} defines no top-level `def solve(...)`")
    params = parameter_types(solve, where)
    tests, tests_node = read_tests(tree, where)
    returns = ANNOTATION_TYPES.get(getattr(solve.returns, "id", ""), None)
    code = source
    if tests_node is not None:
        # The tests are stored beside the code, not inside it.
        lines = source.splitlines(keepends=True)
        code = "".join(lines[: tests_node.lineno - 1] + lines[tests_node.end_lineno :]).rstrip() + "\n"
    return Draft(
        name=name,
        intent=" ".join(intent.split()),
        params=params,
        returns=returns_schema(returns) if returns else {},
        code=code,
        tests=tests,
    )


def parameter_types(solve: ast.FunctionDef, where: str) -> dict[str, str]:
    arguments = solve.args
    if arguments.vararg or arguments.kwarg or arguments.posonlyargs:
        raise InvalidProcedureFile(f"{where}: solve() takes named parameters only (no *args, **kwargs or /)")
    params = {}
    for argument in [*arguments.args, *arguments.kwonlyargs]:
        kind = ANNOTATION_TYPES.get(getattr(argument.annotation, "id", None))
        if kind is None:
            raise InvalidProcedureFile(
                f"{where}: parameter {argument.arg!r} of solve() needs a type annotation, one of "
                + ", ".join(ANNOTATION_TYPES)
            )
        params[argument.arg] = kind
    return params


def read_tests(tree: ast.Module, where: str) -> tuple[list[ProcedureTest], ast.Assign | None]:
    node = next(
        (n for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "TESTS" for t in n.targets)),
        None,
    )
    if node is None:
        return [], None
    try:
        raw = ast.literal_eval(node.value)
    except ValueError:
        raise InvalidProcedureFile(f"{where}:{node.lineno}: TESTS must be a literal list of dicts") from None
    if not isinstance(raw, list) or not all(isinstance(t, dict) and {"inputs", "expected"} <= t.keys() for t in raw):
        raise InvalidProcedureFile(f'{where}:{node.lineno}: TESTS must be a list of {{"inputs": {{...}}, "expected": ...}}')
    return [ProcedureTest(inputs=t["inputs"], expected=t["expected"]) for t in raw], node
