"""The run-time half of the language layer: the functions RestrictedPython's compiled code
calls for every attribute read, item read and write, iteration, unpacking and print.

A guard that refuses raises `Refused`, a BaseException, so `except Exception` in a procedure
does not swallow it; a bare `except:` could, so every refusal is also recorded on the run's
`Guards`, and the worker turns a run with any refusal into a Violation, whatever the
procedure did afterwards.
"""
from __future__ import annotations

import _string
import collections
import decimal
import operator
import string
from typing import Any, Callable

from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from .policy import PROTOCOL_METHODS, ProcedureClass


class Refused(BaseException):
    """A guard refused an operation; the message says which and why."""


# What a procedure may write into: the containers it makes for itself, decimal contexts
# (`getcontext().prec = 50`), and its own classes and their instances (`ProcedureClass`).
# Exact types: a subclass of these could come from a module.
WRITABLE = frozenset({
    dict, list, set, bytearray, collections.Counter, collections.defaultdict,
    collections.OrderedDict, collections.deque, decimal.Context, type(decimal.Context().traps),
})

INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior,
    "^=": operator.ixor, "@=": operator.imatmul,
}


class SafeFormatter(string.Formatter):
    """str.format with every `{0.attr}` and `{0[key]}` of the format string going through the
    guards, so a format string cannot walk to `__class__`, `__globals__` and the like."""

    def __init__(self, guards: "Guards"):
        self.guards = guards

    def get_field(self, field_name, args, kwargs):
        first, rest = _string.formatter_field_name_split(field_name)
        value = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            value = self.guards.getattr(value, key) if is_attribute else value[key]
        return value, first


class _ReadOnly:
    """What `_write_` hands back for an object the procedure may not change."""

    __slots__ = ("guards", "target")

    def __init__(self, guards: "Guards", target: Any):
        object.__setattr__(self, "guards", guards)
        object.__setattr__(self, "target", target)

    def _refuse(self, what: str):
        kind = type(self.target).__name__
        self.guards.refuse(
            f"a procedure may only change the lists, dicts and sets it made, not {what} of a {kind}"
        )

    def __setattr__(self, name, value):
        self._refuse(f"attribute {name!r}")

    def __delattr__(self, name):
        self._refuse(f"attribute {name!r}")

    def __setitem__(self, key, value):
        self._refuse("items")

    def __delitem__(self, key):
        self._refuse("items")


class Guards:
    """The guards of one run, and the refusals they made."""

    def __init__(self):
        self.refusals: list[str] = []
        self.formatter = SafeFormatter(self)

    def refuse(self, reason: str):
        self.refusals.append(reason)
        raise Refused(reason)

    def getattr(self, obj: Any, name: str) -> Any:
        if name in ("format", "format_map") and (
            isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))
        ):
            return self._safe_format(obj, name)
        if name.startswith("_") and not (isinstance(obj, super) and name in PROTOCOL_METHODS):
            self.refuse(f"attribute {name!r} is not available to procedures")
        if name in INSPECT_ATTRIBUTES:
            self.refuse(f"attribute {name!r} is not available to procedures")
        if name == "mro" and isinstance(obj, type):
            # The classes a class is built from include factories (enum.Enum's functional API
            # makes classes whose methods are any functions given) and `object`.
            self.refuse("mro() is not available to procedures: it hands out the classes a class is built from")
        if name == "obj" and isinstance(obj, BaseException):
            # AttributeError.obj hands out the object an internal lookup failed on.
            self.refuse("the obj attribute of exceptions is not available to procedures")
        if name.startswith("_"):  # a protocol method of super(), allowed above
            return getattr(obj, name)
        try:
            return safer_getattr_raise(obj, name)
        except NotImplementedError as error:  # RestrictedPython's own refusals
            self.refuse(str(error))

    def _safe_format(self, obj: Any, name: str) -> Callable:
        vformat = self.formatter.vformat
        if isinstance(obj, str):
            if name == "format":
                return lambda *args, **kwargs: vformat(obj, args, kwargs)
            return lambda mapping: vformat(obj, (), mapping)
        if name == "format":  # str.format(template, ...)
            return lambda template, *args, **kwargs: vformat(template, args, kwargs)
        return lambda template, mapping: vformat(template, (), mapping)

    @staticmethod
    def getitem(container: Any, key: Any) -> Any:
        return container[key]

    def write(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in WRITABLE or kind is ProcedureClass or type(kind) is ProcedureClass:
            return obj
        return _ReadOnly(self, obj)

    def inplace_item(self, op: str, container: Any, key: Any, value: Any) -> None:
        """`container[key] op= value`, which plain RestrictedPython refuses to compile."""
        self.write(container)[key] = INPLACE[op](container[key], value)

    def inplace_attribute(self, op: str, obj: Any, name: str, value: Any) -> None:
        """`obj.name op= value` (the name checked at compile time), which plain
        RestrictedPython refuses to compile."""
        setattr(self.write(obj), name, INPLACE[op](self.getattr(obj, name), value))

    def globals(self, builtins: dict[str, Any]) -> dict[str, Any]:
        """Fresh globals for one run: nothing in them survives into the next."""
        return {
            "__builtins__": builtins,
            "__name__": "procedure",
            "_getattr_": self.getattr,
            "_getitem_": self.getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": self.write,
            "_inplacevar_": lambda op, target, value: INPLACE[op](target, value),
            "_inplace_item_": self.inplace_item,
            "_inplace_attr_": self.inplace_attribute,
            "_print_": PrintCollector,
            "_apply_": lambda function, *args, **kwargs: function(*args, **kwargs),
        }
