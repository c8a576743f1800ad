"""Layer 1, the language: what a procedure may say.

RestrictedPython compiles the source (no names or attributes starting with `_`, no frame or
code-object attributes) and routes every attribute read, item read, iteration, unpacking,
in-place operation, write and print through the guards below. Only pure modules are
importable, and each import returns a fresh read-only view of the module's public API, so a
procedure cannot poison a module for the next run (`json.dumps = evil` fails, and would only
have touched this run's copy). RestrictedPython is not a security boundary on its own: the
worker process (layer 2) is.
"""
from __future__ import annotations

import operator
import types
from typing import Any

from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector

FILENAME = "<procedure>"

# Pure modules a data procedure may import, each narrowed to the names it may use. Names
# that mutate process-wide state (decimal.setcontext, csv.register_dialect), reach the file
# system (json.load takes a file, io beyond StringIO) or bypass the attribute guard
# (string.Formatter, operator.attrgetter) are left out.
_EXCLUDED = {
    "csv": {"register_dialect", "unregister_dialect", "field_size_limit"},
    "decimal": {"setcontext", "DefaultContext"},
    "string": {"Formatter"},
    "json": {"load", "dump"},
}
ALLOWED_MODULES = (
    "re", "json", "math", "cmath", "datetime", "statistics", "collections", "itertools",
    "functools", "decimal", "fractions", "csv", "string", "textwrap", "unicodedata", "heapq",
    "bisect",
)
IO_NAMES = ("StringIO",)


def public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    excluded = _EXCLUDED.get(module.__name__, set())
    return [n for n in names if not n.startswith("_") and n not in excluded and hasattr(module, n)]


def module_view(module: types.ModuleType, names: list[str] | None = None) -> types.SimpleNamespace:
    """A fresh namespace holding the module's allowed names. The write guard refuses writes to
    it; being fresh per run, even a write that got through would not outlive the run."""
    view = types.SimpleNamespace(**{n: getattr(module, n) for n in (names or public_names(module))})
    return view


# C code in the allowed modules imports these through the running frame's __import__ (the
# procedure's): datetime.strftime needs `time`, datetime.strptime needs `_strptime`.
# Procedures themselves cannot name `_strptime`, and get only this narrow view of `time`.
TIME_NAMES = ["strftime", "strptime", "struct_time", "gmtime", "localtime", "mktime", "time",
              "timezone", "altzone", "daylight", "tzname"]


def make_import(modules: dict[str, types.ModuleType]):
    views: dict[str, types.SimpleNamespace] = {}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "_strptime":
            return modules["_strptime"]
        if name == "time":
            return views.setdefault("time", module_view(modules["time"], TIME_NAMES))
        if level != 0:
            raise ImportError("relative imports are not allowed in a procedure")
        if name not in modules:
            raise ImportError(
                f"module {name!r} is not available to procedures; allowed: {', '.join(ALLOWED_MODULES)}, io"
            )
        if name not in views:
            views[name] = module_view(modules[name], list(IO_NAMES) if name == "io" else None)
        return views[name]

    return guarded_import


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


def inplace(op: str, target, value):
    return _INPLACE[op](target, value)


def guarded_getitem(container, key):
    return container[key]


_BUILTIN_NAMES = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytes", "callable", "chr", "complex", "dict",
    "divmod", "enumerate", "filter", "float", "format", "frozenset", "hex", "int", "isinstance",
    "issubclass", "iter", "len", "list", "map", "max", "min", "next", "oct", "ord", "pow",
    "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration",
    "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError",
)


def builtins_for(modules: dict[str, types.ModuleType]) -> dict[str, Any]:
    import builtins

    allowed = {name: getattr(builtins, name) for name in _BUILTIN_NAMES}
    allowed.update({"None": None, "True": True, "False": False, "__import__": make_import(modules)})
    return allowed


def load_modules() -> dict[str, types.ModuleType]:
    """Import the allowed modules (in the worker, before its system-call filter closes `open`)."""
    import importlib
    import io

    modules = {name: importlib.import_module(name) for name in ALLOWED_MODULES}
    modules["io"] = io
    modules["time"] = importlib.import_module("time")
    modules["_strptime"] = importlib.import_module("_strptime")
    # datetime.strptime imports _strptime lazily: do it now, while files can still be opened.
    modules["datetime"].datetime.strptime("2000-01-02", "%Y-%m-%d")
    modules["re"].compile(r"\d+(?:\.\d+)?").findall("1.5")
    return modules


def run_globals(modules: dict[str, types.ModuleType]) -> dict[str, Any]:
    """Fresh globals for one run: nothing in them survives into the next."""
    return {
        "__builtins__": builtins_for(modules),
        "__name__": "procedure",
        # The raising variant: plain safer_getattr returns None for a missing attribute, and a
        # procedure then fails later with "'NoneType' object is not callable", which misleads
        # the model reading the error.
        "_getattr_": safer_getattr_raise,
        "_getitem_": guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": inplace,
        "_print_": PrintCollector,
        "_apply_": lambda function, *args, **kwargs: function(*args, **kwargs),
    }


def compile_procedure(source: str):
    """(code object or None, violations). Violations name the line and the rule broken."""
    if not isinstance(source, str) or not source.strip():
        return None, ["the procedure's source is empty"]
    result = compile_restricted_exec(source, filename=FILENAME)
    errors = list(result.errors)
    if result.code is None and not errors:
        errors = ["the procedure does not compile"]
    return (result.code if not errors else None), errors


def check(source: str, entry: str = "solve") -> list[str]:
    """The policy violations of a source, without running it."""
    import ast

    code, errors = compile_procedure(source)
    if errors:
        return errors
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if entry not in defined:
        return [f"the procedure defines no top-level function {entry}()"]
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                if root not in ALLOWED_MODULES and root != "io":
                    errors.append(f"line {node.lineno}: import of {name!r} is not allowed "
                                  f"(allowed: {', '.join(ALLOWED_MODULES)}, io.StringIO)")
                elif "." in name:
                    errors.append(f"line {node.lineno}: import whole modules only ({root!r}, not {name!r})")
    return errors
