"""Layer 1, the language: what a procedure may say, decided before it runs.

RestrictedPython compiles the source (no names or attributes starting with `_`, no frame,
traceback, generator or code-object attributes, no eval/exec, no `except*`) and routes every
attribute read, item access, write, iteration, unpacking and print through the guards of
`guards.py`. On top of it this policy refuses at compile time what RestrictedPython leaves to
a NameError or an ImportError at run time, so the synthesizer can tell the model at once:
imports outside the allowlist and builtins a procedure is not given (open, getattr, type,
...). It accepts classes with the protocol methods of `PROTOCOL_METHODS` (their code is the
procedure's, compiled and guarded like the rest, and runs only inside the run's own process),
`super().__init__(...)` and the like, and `counts[key] += 1`, which plain RestrictedPython
refuses, by routing it through the item guards. It drops annotations: a procedure never needs
them to run, and library code evaluates string annotations (functools.singledispatch) with
plain `eval`, past every guard.

RestrictedPython is not a security boundary on its own: the worker process (layer 2) is.
"""
from __future__ import annotations

import ast
import builtins
import types
from functools import lru_cache
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, copy_locations

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
    "abs", "all", "any", "ascii", "bin", "bool", "bytes", "callable", "chr", "classmethod",
    "complex", "dict", "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash",
    "hex", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next",
    "oct", "ord", "pow", "property", "range", "repr", "reversed", "round", "set", "slice",
    "sorted", "staticmethod", "str", "sum", "super", "tuple", "zip",
    *EXCEPTIONS,
)
# The special methods a procedure's class may define: each is called by the interpreter only
# where the procedure's own code uses the object (an operator, a comparison, a conversion, a
# loop, a call), so it runs inside the run, as guarded code like any other function.
PROTOCOL_METHODS = frozenset({
    "__init__", "__repr__", "__str__", "__format__", "__bytes__", "__hash__", "__bool__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__len__", "__iter__", "__next__", "__reversed__", "__contains__", "__getitem__",
    "__setitem__", "__delitem__", "__missing__", "__call__",
    "__int__", "__float__", "__complex__", "__index__", "__round__", "__trunc__", "__floor__",
    "__ceil__", "__neg__", "__pos__", "__abs__", "__invert__",
    *(f"__{kind}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod",
                                   "divmod", "pow", "lshift", "rshift", "and", "xor", "or")
      for kind in ("", "r", "i")),
})
# Special methods refused, and why: each runs where the procedure did not call it, or hands it
# what the guards keep out.
REFUSED_METHODS = {
    "__del__": "it runs whenever the object is freed, not where the procedure calls it",
    "__enter__": "context managers get the traceback of the exception that ended the block",
    "__exit__": "it is handed the traceback of the exception that ended the block",
    "__getattr__": "attribute hooks run inside the guards' own lookups",
    "__getattribute__": "attribute hooks run inside the guards' own lookups",
    "__setattr__": "attribute hooks run inside the guards' own writes",
    "__delattr__": "attribute hooks run inside the guards' own writes",
    "__get__": "descriptors run inside the guards' own lookups",
    "__set__": "descriptors run inside the guards' own writes",
    "__delete__": "descriptors run inside the guards' own writes",
    "__set_name__": "it runs while a class is being made, not where the procedure calls it",
    "__init_subclass__": "it runs while a class is being made, not where the procedure calls it",
    "__class_getitem__": "it serves type annotations, which procedures do not have",
    "__new__": "objects are made by __init__",
    "__reduce__": "objects of a procedure never leave its run (answers are JSON)",
    "__reduce_ex__": "objects of a procedure never leave its run (answers are JSON)",
    "__getstate__": "objects of a procedure never leave its run (answers are JSON)",
    "__setstate__": "objects of a procedure never leave its run (answers are JSON)",
    "__copy__": "copying hooks serve modules procedures do not have",
    "__deepcopy__": "copying hooks serve modules procedures do not have",
}


class ProcedureClass(type):
    """The metaclass of every class a procedure defines (RestrictedPython adds
    `metaclass=__metaclass__` to each `class` statement): the write guard lets a procedure
    change its own classes and their instances, and nothing else it did not make."""
# Real builtins a procedure does not get; `print` is rewritten by RestrictedPython.
_WITHHELD = frozenset(n for n in dir(builtins) if not n.startswith("_")) - set(BUILTINS) - {
    "print", "None", "True", "False", "Ellipsis", "NotImplemented",
}


class ProcedureTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer with classes held to `PROTOCOL_METHODS`, `super().x`
    for those methods, and augmented assignment of items through the `_inplace_item_` guard."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.methods: set[int] = set()  # the FunctionDef nodes directly in a class body

    def visit_ClassDef(self, node: ast.ClassDef):
        for keyword in node.keywords:
            self.error(node, f"class {node.name}: class keywords ({keyword.arg}=...) are not available "
                             "to procedures; they configure how a class is made")
        self.methods |= {id(item) for item in node.body if isinstance(item, ast.FunctionDef)}
        return super().visit_ClassDef(node)

    def visit_FunctionDef(self, node: ast.FunctionDef):
        name = node.name
        if name.startswith("_") and id(node) in self.methods and name.endswith("__"):
            if name in REFUSED_METHODS:
                self.error(node, f"method {name} is not available to procedures: {REFUSED_METHODS[name]}")
            elif name not in PROTOCOL_METHODS:
                self.error(node, f"method {name} is not available to procedures; a class may define "
                                 "__init__, __repr__, __str__, comparisons, arithmetic, __len__, __iter__, "
                                 "__next__, __getitem__, __contains__, __call__ and conversions")
        elif name.startswith("_"):  # RestrictedPython lets nested __magic__ names through
            self.error(node, f'"{name}" is an invalid function name because it starts with "_"')
        return super().visit_FunctionDef(node)

    def check_name(self, node, name, allow_magic_methods=False):
        if allow_magic_methods and id(node) in self.methods and name.startswith("__") and name.endswith("__"):
            return  # a special method of a procedure's class: visit_FunctionDef judged it
        super().check_name(node, name, allow_magic_methods)

    def visit_Attribute(self, node: ast.Attribute):
        """`super().__init__(...)` and the other protocol methods, read through the guard."""
        value = node.value
        if node.attr in PROTOCOL_METHODS and isinstance(node.ctx, ast.Load):
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"
                    and not value.args and not value.keywords):
                call = ast.Call(func=ast.Name("_getattr_", ast.Load()),
                                args=[self.visit(value), ast.Constant(node.attr)], keywords=[])
                copy_locations(call, node)
                return call
            self.error(node, f"{node.attr} is available to procedures only as super().{node.attr}(...)")
            return node
        return super().visit_Attribute(node)

    def visit_Nonlocal(self, node: ast.Nonlocal):
        """Rebinding a name of the enclosing function: no object is reached that the function
        could not reach already."""
        for name in node.names:
            self.check_name(node, name)
        return node

    # `match`: the subject, values and bindings are ordinary expressions and names, checked as
    # such. A class pattern reads attributes by name without the attribute guard, so its
    # keywords are held to what the guard would allow (`case Row(total=t)`, not
    # `case Row(__class__=c)`).
    def visit_Match(self, node: ast.Match):
        return self.node_contents_visit(node)

    def visit_match_case(self, node: ast.match_case):
        return self.node_contents_visit(node)

    def visit_MatchValue(self, node: ast.MatchValue):
        """`case 3`, `case "a"`, `case decimal.ROUND_UP`: a dotted name stays one (a pattern
        cannot call the guard), its attributes held to what the guard would allow."""
        value = node.value
        while isinstance(value, ast.Attribute):
            self._check_pattern_attribute(node, value.attr)
            value = value.value
        if isinstance(value, ast.Name):
            self.check_name(node, value.id)
            return node
        return self.node_contents_visit(node)

    def _check_pattern_attribute(self, node: ast.AST, attribute: str) -> None:
        if attribute.startswith("_") or attribute in INSPECT_ATTRIBUTES or attribute == "mro":
            self.error(node, f"a pattern may not read the attribute {attribute!r}")

    def visit_MatchSingleton(self, node: ast.MatchSingleton):
        return self.node_contents_visit(node)

    def visit_MatchSequence(self, node: ast.MatchSequence):
        return self.node_contents_visit(node)

    def visit_MatchOr(self, node: ast.MatchOr):
        return self.node_contents_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar):
        self.check_name(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs):
        self.check_name(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchMapping(self, node: ast.MatchMapping):
        self.check_name(node, node.rest)
        return self.node_contents_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass):
        for attribute in node.kwd_attrs:
            self._check_pattern_attribute(node, attribute)
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign):
        """`items[key] += x` through `_inplace_item_`, `self.total += x` through `_inplace_attr_`."""
        target = node.target
        operator = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        if isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
            guard, args = "_inplace_item_", [self.visit(target.value), self.visit(target.slice)]
        elif isinstance(target, ast.Attribute):
            if target.attr.startswith("_"):
                self.error(node, f'"{target.attr}" is an invalid attribute name because it starts with "_".')
            guard, args = "_inplace_attr_", [self.visit(target.value), ast.Constant(target.attr)]
        else:
            return super().visit_AugAssign(node)
        call = ast.Call(
            func=ast.Name(guard, ast.Load()),
            args=[operator, *args, self.visit(node.value)],
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

    return frozenset(allowed_modules.allowed_names(importlib.import_module(allowed_modules.OWN.get(name, name))))


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


class _DropAnnotations(ast.NodeTransformer):
    """Annotations removed: `x: int = 1` becomes `x = 1`, `x: int` nothing, `def f(a: str) ->
    int` `def f(a)`. Code never needs them to run, and a string annotation is code that
    library helpers (typing.get_type_hints, functools.singledispatch) run with plain eval."""

    def visit_arg(self, node: ast.arg):
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.returns = None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign):
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)


@lru_cache(maxsize=256)
def compile_procedure(source: str) -> tuple[types.CodeType | None, tuple[str, ...]]:
    """(code object, ()) or (None, violations). Violations name the line and the rule broken.
    Cached: a worker compiles a procedure once, however often it runs."""
    if not isinstance(source, str) or not source.strip():
        return None, ("the procedure's source is empty",)
    try:
        tree = ast.fix_missing_locations(_DropAnnotations().visit(ast.parse(source, filename=FILENAME)))
    except SyntaxError as error:
        return None, (f"Line {error.lineno}: SyntaxError: {error.msg}",)
    own = _policy_violations(tree)
    try:
        result = compile_restricted_exec(tree, filename=FILENAME, policy=ProcedureTransformer)
    except SyntaxError as error:  # found by the compiler after parsing: 'return' outside function, ...
        return None, (*own, f"Line {error.lineno}: SyntaxError: {error.msg}")
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


CSV_READERS = {"reader", "DictReader"}


def listed_rows(source: str) -> str:
    """The source with every csv reader it names read into a list, `rows =
    list(csv.DictReader(...))`, unless the code steps through it with next().

    A reader is an iterator: `len(rows)` raises and a second pass finds nothing. The 1.5B makes
    this mistake in every other table task (a count of rows, a mean) and, told the fix, rewrites
    the same line; a list serves every other use of the rows, so the fix is mechanical, like
    complete_imports. Source that does not parse is returned unchanged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    stepped = {node.args[0].id for node in ast.walk(tree)
               if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "next"
               and node.args and isinstance(node.args[0], ast.Name)}
    readers = [node.value for node in ast.walk(tree)
               if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
               and node.targets[0].id not in stepped and _is_csv_reader(node.value)]
    if not readers:
        return source
    return _with_insertions(source, [(call.lineno, call.col_offset, b"list(") for call in readers]
                            + [(call.end_lineno, call.end_col_offset, b")") for call in readers])


def mended(source: str) -> str:
    """A drafted source with every mechanical fix made: its module tests dropped, its imports
    completed, its csv readers listed, its dates formatted after their arithmetic."""
    return formatted_after_arithmetic(listed_rows(complete_imports(drop_module_tests(source))))


DATE_FORMATTERS = {"strftime", "isoformat"}


def formatted_after_arithmetic(source: str) -> str:
    """The source with `start + timedelta(days=n).strftime(...)` read as
    `(start + timedelta(days=n)).strftime(...)`.

    As written, the timedelta is formatted before it is added, and a timedelta has no strftime:
    the line can only raise, and it has one meaning, so the fix is mechanical, like
    listed_rows. The 1.5B writes date arithmetic so. Source that does not parse is returned
    unchanged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    slips = [node for node in ast.walk(tree)
             if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))
             and isinstance(node.right, ast.Call) and isinstance(node.right.func, ast.Attribute)
             and node.right.func.attr in DATE_FORMATTERS and _is_timedelta(node.right.func.value)]
    if not slips:
        return source
    return _with_insertions(source, [(node.lineno, node.col_offset, b"(") for node in slips]
                            + [(node.right.func.value.end_lineno, node.right.func.value.end_col_offset, b")")
                               for node in slips])


def _with_insertions(source: str, insertions: list[tuple[int, int, bytes]]) -> str:
    """The source with each text inserted at its (line, column), as ast numbers them: lines
    from 1, columns in bytes of UTF-8. Inserted from the last place back, so none moves another."""
    lines = [line.encode() for line in source.splitlines(keepends=True)]
    for line, column, text in sorted(insertions, reverse=True):
        lines[line - 1] = lines[line - 1][:column] + text + lines[line - 1][column:]
    return b"".join(lines).decode()


def _is_timedelta(node: ast.expr) -> bool:
    function = node.func if isinstance(node, ast.Call) else None
    return (isinstance(function, ast.Name) and function.id == "timedelta"
            or isinstance(function, ast.Attribute) and function.attr == "timedelta")


def _is_csv_reader(node: ast.expr) -> bool:
    function = node.func if isinstance(node, ast.Call) else None
    if isinstance(function, ast.Attribute):
        return function.attr in CSV_READERS and isinstance(function.value, ast.Name) and function.value.id == "csv"
    return isinstance(function, ast.Name) and function.id in CSV_READERS


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
    given.update({"None": None, "True": True, "False": False, "__import__": importer,
                  "__build_class__": builtins.__build_class__, "__metaclass__": ProcedureClass})
    return given
