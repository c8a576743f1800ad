"""Layer 1, the language: what a procedure may say, decided before it runs.

RestrictedPython compiles the source (no names or attributes starting with `_`, no frame,
traceback, generator or code-object attributes, no eval/exec, no `except*`) and routes every
attribute read, item access, write, iteration, unpacking and print through the guards of
`guards.py`. On top of it this policy refuses at compile time what RestrictedPython leaves to
a NameError or an ImportError at run time, so the synthesizer can tell the model at once:
imports outside the allowlist, builtins a procedure is not given (open, getattr, type, ...),
and class definitions (a class could carry `__del__` or `__eq__` code that runs later,
outside the procedure's own call). It also accepts `counts[key] += 1`, which plain
RestrictedPython refuses, by routing it through the item guards.

RestrictedPython is not a security boundary on its own: the worker process (layer 2) is.
"""
from __future__ import annotations

import ast
import builtins
import types
from functools import lru_cache
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, copy_locations

from . import modules as allowed_modules

FILENAME = "<procedure>"

# Built-in exceptions withheld, and why: those that stop a run (the worker's CPU budget and
# memory cap, a generator's close, the interpreter's exit; caught, they would keep a stopped run
# going, raised, they would stop the worker) and the exception groups, which only serve
# `except*` (not available). Every other built-in exception is a plain class a procedure may
# raise, catch and check by name.
WITHHELD_EXCEPTIONS = {
    "BaseException": "catching it would catch the end of the CPU budget",
    "BaseExceptionGroup": "exception groups serve except*, which procedures do not have",
    "ExceptionGroup": "exception groups serve except*, which procedures do not have",
    "GeneratorExit": "it is how the interpreter closes generators",
    "KeyboardInterrupt": "it is how the interpreter is interrupted",
    "MemoryError": "a run out of memory must end, not be caught",
    "SystemExit": "it would stop the worker",
}
EXCEPTIONS = tuple(sorted(name for name, value in vars(builtins).items()
                          if isinstance(value, type) and issubclass(value, BaseException)
                          and not name.startswith("_") and name not in WITHHELD_EXCEPTIONS))
BUILTINS = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytes", "callable", "chr", "complex", "dict",
    "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "int",
    "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "oct",
    "ord", "pow", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum",
    "tuple", "zip",
    *EXCEPTIONS,
)
# Real builtins a procedure does not get; `print` is rewritten by RestrictedPython.
_WITHHELD = frozenset(n for n in dir(builtins) if not n.startswith("_")) - set(BUILTINS) - {
    "print", "None", "True", "False", "Ellipsis", "NotImplemented",
}


class ProcedureTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer, stricter on classes and `_` functions, and accepting
    augmented assignment of items through the `_inplace_item_` guard."""

    def visit_ClassDef(self, node: ast.ClassDef):
        self.error(node, "class definitions are not available to procedures; use functions, "
                         "dicts, lists and tuples")
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef):
        if node.name.startswith("_"):  # RestrictedPython lets nested __magic__ names through
            self.error(node, f'"{node.name}" is an invalid function name because it starts with "_"')
        return super().visit_FunctionDef(node)

    def visit_AugAssign(self, node: ast.AugAssign):
        target = node.target
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return super().visit_AugAssign(node)
        call = ast.Call(
            func=ast.Name("_inplace_item_", ast.Load()),
            args=[ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(target.value),
                  self.visit(target.slice), self.visit(node.value)],
            keywords=[],
        )
        statement = ast.Expr(call)
        copy_locations(call, node)
        copy_locations(statement, node)
        return statement


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the source binds anywhere: these may shadow a withheld builtin."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


@lru_cache(maxsize=None)
def _module_names(name: str) -> frozenset[str]:
    import importlib

    return frozenset(allowed_modules.allowed_names(importlib.import_module(name)))


def _import_violations(node: ast.Import | ast.ImportFrom) -> list[str]:
    allowed = ", ".join(allowed_modules.ALLOWED)
    where = f"Line {node.lineno}"
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module not in allowed_modules.ALLOWED:
            return [f"{where}: module {node.module!r} is not available to procedures; they may import {allowed}"]
        return [f"{where}: {node.module}.{alias.name} is not available to procedures"
                for alias in node.names
                if alias.name != "*" and alias.name not in _module_names(node.module)]
    return [f"{where}: module {alias.name!r} is not available to procedures; they may import {allowed}"
            for alias in node.names if alias.name not in allowed_modules.ALLOWED]


def _policy_violations(tree: ast.Module) -> list[str]:
    """What RestrictedPython would only find at run time, found now."""
    found = []
    bound = _bound_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += _import_violations(node)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in _WITHHELD and node.id not in bound:
                why = f": {WITHHELD_EXCEPTIONS[node.id]}" if node.id in WITHHELD_EXCEPTIONS else ""
                found.append(f"Line {node.lineno}: {node.id!r} is not available to procedures{why}")
    return found


@lru_cache(maxsize=256)
def compile_procedure(source: str) -> tuple[types.CodeType | None, tuple[str, ...]]:
    """(code object, ()) or (None, violations). Violations name the line and the rule broken.
    Cached: a worker compiles a procedure once, however often it runs."""
    if not isinstance(source, str) or not source.strip():
        return None, ("the procedure's source is empty",)
    try:
        tree = ast.parse(source, filename=FILENAME)
    except SyntaxError as error:
        return None, (f"Line {error.lineno}: SyntaxError: {error.msg}",)
    own = _policy_violations(tree)
    result = compile_restricted_exec(tree, filename=FILENAME, policy=ProcedureTransformer)
    errors = own + [e for e in result.errors if e not in own]
    if result.code is None and not errors:
        errors = ["the procedure does not compile"]
    return (None, tuple(errors)) if errors else (result.code, ())


def check(source: str, entry: str = "solve") -> list[str]:
    """The policy violations of a source, without running it (empty when it may run)."""
    if not entry.isidentifier() or entry.startswith("_"):
        return [f"the entry point {entry!r} is not a plain function name"]
    code, errors = compile_procedure(source)
    if errors:
        return list(errors)
    if entry not in {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}:
        return [f"the procedure defines no top-level function {entry}(); define def {entry}(...)"]
    return []


def complete_imports(source: str) -> str:
    """The source with an `import X` added for every allowed module it uses but never binds.

    Small models often write `io.StringIO(...)` after importing only csv; the fix is mechanical,
    so the compiler makes it (as a linker resolves symbols) instead of spending a model call on
    it. Source that does not parse is returned unchanged, for the policy check to report.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    bound = _bound_names(tree)
    missing = sorted({
        node.id for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        and node.id in allowed_modules.ALLOWED and node.id not in bound
    })
    if not missing:
        return source
    return "".join(f"import {name}\n" for name in missing) + source


def drop_module_tests(source: str) -> str:
    """The source without the top-level statements that test or demo it: `assert solve(...)
    == ...`, `print(solve(...))`, an `if __name__ == "__main__":` block.

    Small models append their tests to the code, with answers from their own mental arithmetic
    ("185.05 * 0.086 == 15.74"); at import such a line fails every run of a correct `solve`.
    The tests that count are the draft's own; these lines are removed, not fixed. Source that
    does not parse is returned unchanged, for the policy check to report.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    dropped = [node for node in tree.body if _is_module_test(node)]
    if not dropped:
        return source
    lines = source.splitlines(keepends=True)
    for node in reversed(dropped):
        del lines[node.lineno - 1:node.end_lineno]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()  # the blank lines and "# Tests" heading the removed lines leave behind
    return "".join(lines)


def _is_module_test(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return True
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def builtins_for(importer: Any) -> dict[str, Any]:
    """The builtins of one run: the allowlist, and the run's guarded `__import__`."""
    given = {name: getattr(builtins, name) for name in BUILTINS}
    given.update({"None": None, "True": True, "False": False, "__import__": importer})
    return given
