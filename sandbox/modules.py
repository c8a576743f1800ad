"""The modules a procedure may import, and the read-only views it gets of them.

Only pure modules are offered. Each import hands the procedure a fresh module object holding
the module's allowed public names, never the real module: a write to it is refused by the
write guard, and even a write that got through would die with the run, so `json.dumps = evil`
cannot reach the next procedure. Names that change process-wide state, take files, read
attributes by name (and so get round the attribute guard) or write attributes onto objects
the procedure did not make are left out of the views.
"""
from __future__ import annotations

import importlib
import types
from typing import Callable

# module -> names left out of its view, with the reason in the comment beside them.
_LEFT_OUT: dict[str, set[str]] = {
    # process-wide state shared by every later run in the worker
    "csv": {"register_dialect", "unregister_dialect", "field_size_limit"},
    "decimal": {"setcontext", "DefaultContext", "BasicContext", "ExtendedContext"},
    # string.Formatter walks attributes named in a format string, past the attribute guard
    "string": {"Formatter"},
    # these take files; a procedure has none
    "json": {"load", "dump"},
    # setattr onto objects the procedure did not make (update_wrapper copies any attribute
    # named in its arguments, total_ordering writes methods onto a shared class)
    "functools": {"update_wrapper", "wraps", "total_ordering"},
    # UserString.format calls str.format on its data, past the safe formatter
    "collections": {"UserString"},
}

# Only the parts of these modules a data procedure needs. `time` is offered (datetime's C
# code imports it through the procedure's __import__ too), but without sleep or clocks of
# the process; `io` only for StringIO, the in-memory file csv reads and writes.
_ONLY: dict[str, tuple[str, ...]] = {
    "io": ("StringIO",),
    "time": ("strftime", "strptime", "struct_time", "gmtime", "localtime", "mktime", "time",
             "timezone", "altzone", "daylight", "tzname"),
}

ALLOWED = (
    "re", "json", "math", "cmath", "datetime", "time", "statistics", "collections",
    "itertools", "functools", "decimal", "fractions", "csv", "string", "textwrap",
    "unicodedata", "heapq", "bisect", "io", "html", "base64", "urllib.parse", "extract",
    "reshape", "validate",
)

# Allowed modules of seglam's own, by the name a procedure imports them under.
OWN = {"extract": "sandbox.extract", "reshape": "sandbox.reshape", "validate": "sandbox.validate"}

# Imported by C code in the allowed modules (datetime.strptime), never by a procedure: a
# procedure cannot even spell a name that starts with "_".
_INTERNAL = ("_strptime",)


def allowed_names(module: types.ModuleType) -> list[str]:
    """The names of `module` a procedure may use."""
    name = module.__name__
    if name in _ONLY:
        return [n for n in _ONLY[name] if hasattr(module, n)]
    names = getattr(module, "__all__", None) or dir(module)
    left_out = _LEFT_OUT.get(name, set())
    return [n for n in names if not n.startswith("_") and n not in left_out and hasattr(module, n)]


def load() -> dict[str, types.ModuleType]:
    """Import the allowed modules and warm what they load lazily, while files can still be
    opened (the worker's confinement forbids opening files afterwards)."""
    modules = {name: importlib.import_module(OWN.get(name, name)) for name in ALLOWED + _INTERNAL}
    modules["datetime"].datetime.strptime("2000-01-02", "%Y-%m-%d")
    modules["time"].strftime("%Y")
    modules["re"].compile(r"\d+(?:\.\d+)?").findall("1.5")
    modules["unicodedata"].normalize("NFKC", "x")
    modules["validate"].warm()
    load_text_codecs()
    return modules


def load_text_codecs() -> None:
    """Every standard text encoding, imported now; then the codec registry answers from these
    alone. `'x'.encode(name)`, `bytes.decode(name)` and `str(b, name)` look a codec up by a name
    the procedure chooses, and the standard search function imports `encodings.<name>`: an
    import by name, past the module allowlist. Here a name outside the standard text encodings
    is an ordinary LookupError, and nothing is imported after confinement."""
    import codecs
    import encodings
    import pkgutil

    platform_only = {"aliases", "mbcs", "oem", "cp65001"}
    loaded = {}
    for found in pkgutil.iter_modules(encodings.__path__):
        if found.name not in platform_only:
            info = codecs.lookup(found.name)
            if info._is_text_encoding:
                loaded[found.name] = info

    def lookup(name: str):
        normalized = encodings.normalize_encoding(name).lower()
        return loaded.get(encodings.aliases.aliases.get(normalized, normalized))

    codecs.unregister(encodings.search_function)
    codecs.register(lookup)


def view(name: str, module: types.ModuleType, refuse: Callable[[str], None]) -> types.ModuleType:
    """A fresh module object, named as the procedure imported it, holding the allowed names of
    `module`. Asking it for a name the real module has but the view leaves out is a refusal (a
    Violation), not a typo."""
    fresh = types.ModuleType(name, f"The parts of {name} a procedure may use.")
    for allowed in allowed_names(module):
        setattr(fresh, allowed, getattr(module, allowed))

    def withheld(attribute: str):
        if hasattr(module, attribute):
            refuse(f"{name}.{attribute} is not available to procedures")
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    fresh.__getattr__ = withheld  # PEP 562: called for names the view does not hold
    return fresh


def importer(modules: dict[str, types.ModuleType], refuse: Callable[[str], None]) -> Callable:
    """The `__import__` of one run: views of allowed modules, a refusal for anything else.
    Views are cached for the run only, so `import json` twice gives the same object."""
    views: dict[str, types.ModuleType] = {}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name in _INTERNAL:
            return modules[name]
        if level != 0 or name not in ALLOWED:
            refuse(f"module {name!r} is not available to procedures; they may import {', '.join(ALLOWED)}")
        if name not in views:
            views[name] = view(name, modules[name], refuse)
        if "." in name and not fromlist:
            # `import urllib.parse` binds `urllib`: a package holding the allowed submodule only
            package, _, submodule = name.partition(".")
            holder = types.ModuleType(package, f"Only {name} of {package} is available to procedures.")
            setattr(holder, submodule, views[name])
            return holder
        return views[name]

    return guarded_import
