"""The hostile procedures, each with the typed outcome it must get, and the legitimate ones
that must pass unchanged. Read by test_corpus.py; one row per procedure.

`then` is a legitimate procedure run right after the hostile one, in the same namespace (so
on the same worker when it survived), with the answer it must still give: the hostile one
must not have left anything behind.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox import MemoryLimit, OutputLimit, ProcedureError, Timeout, Violation


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    outcome: type
    match: str  # a regular expression the error's message must contain
    then: tuple[str, Any] | None = None
    cpu_s: float | None = None  # a CPU budget of its own, where the corpus's 1 s would race another limit

    @property
    def message(self) -> str:
        """The regular expression the error's message must contain. A CPU budget stops a run by
        its CPU seconds or, on a loaded machine, by its wall clock first: either is the Timeout."""
        return f"{self.match}|wall-clock" if self.outcome is Timeout else self.match


def fn(body: str, head: str = "") -> str:
    """A procedure: optional top-level lines, then `def solve():` with the body indented."""
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return f"{head.strip()}\n\ndef solve():\n{indented}\n" if head else f"def solve():\n{indented}\n"


JSON_DUMPS_STILL_WORKS = ("import json\ndef solve():\n    return json.dumps([1, 'a'])\n", '[1, "a"]')
DECIMAL_STILL_EXACT = ("from decimal import Decimal\ndef solve():\n    return str(Decimal(1) / Decimal(3))\n",
                       "0.3333333333333333333333333333")

HOSTILE = [
    # --- subclass walks -------------------------------------------------------------------
    Hostile("subclasses via __class__", fn("return ().__class__.__bases__[0].__subclasses__()"), Violation, '"__class__"'),
    Hostile("subclasses via __mro__", fn("return [].__class__.__mro__[-1].__subclasses__()"), Violation, '"__class__"'),
    Hostile("subclasses via type()", fn("return type(1).__subclasses__()"), Violation, "'type' is not available"),
    Hostile("mro() to object", fn("return str.mro()[-1].__subclasses__()"), Violation, '"__subclasses__"'),
    Hostile("object builtin", fn("return object.__subclasses__()"), Violation, "'object' is not available"),
    Hostile("__base__ of a function", fn("f = lambda: 0\nreturn f.__class__.__base__"), Violation, '"__class__"'),
    # --- frame and traceback walks ---------------------------------------------------------
    Hostile("traceback to frame", fn("try:\n    1 / 0\nexcept Exception as e:\n    return e.__traceback__.tb_frame.f_back.f_globals"),
            Violation, '"__traceback__"'),
    Hostile("generator frame (CVE-2023-37271)", fn("g = (x for x in [1])\nreturn g.gi_frame.f_back.f_globals"),
            Violation, '"gi_frame" is a restricted name'),
    Hostile("generator code", fn("g = (x for x in [1])\nreturn g.gi_code.co_consts"), Violation, '"gi_code"'),
    Hostile("frame via format", fn("g = (x for x in [1])\nreturn '{0.gi_frame.f_globals}'.format(g)"),
            Violation, "'gi_frame' is not available"),
    Hostile("traceback via format", fn("try:\n    1 / 0\nexcept Exception as e:\n    return '{0.__traceback__}'.format(e)"),
            Violation, "'__traceback__' is not available"),
    Hostile("sys._getframe", fn("import sys\nreturn sys._getframe(1).f_globals"), Violation, "module 'sys' is not available"),
    Hostile("exception context", fn("try:\n    1 / 0\nexcept Exception as e:\n    return e.__context__"), Violation, '"__context__"'),
    Hostile("async coroutine frame", "async def solve():\n    return 1\n", Violation, "AsyncFunctionDef statements are not allowed"),
    # --- format-string traversal (CVE-2023-41039, CVE-2026-76825) ---------------------------
    Hostile("format to globals", fn("return '{0.__globals__}'.format(solve)"), Violation, "'__globals__' is not available"),
    Hostile("format_map traversal", fn("return '{x.__class__.__mro__}'.format_map({'x': 1})"), Violation, "'__class__'"),
    Hostile("unbound str.format", fn("return str.format('{0.__class__}', 1)"), Violation, "'__class__'"),
    Hostile("unbound str.format_map", fn("return str.format_map('{a.__class__}', {'a': 1})"), Violation, "'__class__'"),
    Hostile("format through map()", fn("return list(map(str.format, ['{0.__init__}'], [1]))"), Violation, "'__init__'"),
    Hostile("format through partial", fn("import functools\nreturn functools.partial(str.format, '{0.__class__}')(1)"),
            Violation, "'__class__'"),
    Hostile("format nested in spec", fn("return '{0:{1.__class__}}'.format(1, 2)"), Violation, "'__class__'"),
    Hostile("string.Formatter", fn("import string\nreturn string.Formatter().format('{0.__class__}', 1)"),
            Violation, "string.Formatter is not available"),
    Hostile("from string import Formatter", "from string import Formatter\ndef solve():\n    return 1\n",
            Violation, "string.Formatter is not available"),
    Hostile("UserString.format", fn("import collections\nreturn collections.UserString('{0.__class__}').format(1)"),
            Violation, "collections.UserString is not available"),
    Hostile("f-string traversal", fn("return f'{solve.__globals__}'"), Violation, '"__globals__"'),
    Hostile("percent format of a dunder", fn("return '%s' % solve.__code__"), Violation, '"__code__"'),
    Hostile("swallowed format refusal", fn("try:\n    return '{0.__class__}'.format(1)\nexcept:\n    return 'escaped'"),
            Violation, "'__class__'"),
    # --- AttributeError.obj (CVE-2024-47532), except* (CVE-2025-22153) ----------------------
    Hostile("AttributeError.obj", fn("try:\n    (1).nothing\nexcept AttributeError as e:\n    return e.obj"),
            Violation, "obj attribute of exceptions"),
    Hostile("except*", fn("try:\n    raise ValueError(1)\nexcept* ValueError as group:\n    return group.exceptions"),
            Violation, "TryStar statements are not allowed"),
    Hostile("ExceptionGroup builtin", fn("return ExceptionGroup('x', [ValueError()])"), Violation, "'ExceptionGroup' is not available"),
    Hostile("BaseException catches the CPU limit", fn("try:\n    return 1\nexcept BaseException:\n    return 2"),
            Violation, "'BaseException' is not available"),
    # --- guard shadowing and decorator tricks ------------------------------------------------
    Hostile("positional-only guard name", "def solve(_getattr_=None, /):\n    return 1\n", Violation, '"_getattr_"'),
    Hostile("keyword-only guard name", "def solve(*, _write_=None):\n    return 1\n", Violation, '"_write_"'),
    Hostile("lambda guard name", fn("f = lambda _getiter_: 1\nreturn f(1)"), Violation, '"_getiter_"'),
    Hostile("global guard rebinding", "_getattr_ = getattr\ndef solve():\n    return 1\n", Violation, '"_getattr_"'),
    Hostile("import as a guard name", "import json as _getattr_\ndef solve():\n    return 1\n", Violation, '"_getattr_"'),
    Hostile("decorator update_wrapper", fn("import functools\nreturn functools.update_wrapper(solve, solve, assigned=('__globals__',))"),
            Violation, "functools.update_wrapper is not available"),
    Hostile("decorator wraps", "from functools import wraps\ndef solve():\n    return 1\n", Violation, "functools.wraps is not available"),
    Hostile("decorator total_ordering", fn("import functools\nreturn functools.total_ordering"), Violation, "functools.total_ordering"),
    Hostile("decorator reaching globals", "@(lambda f: f.__globals__)\ndef solve():\n    return 1\n", Violation, '"__globals__"'),
    Hostile("magic method definition", "def solve():\n    def __del__(self):\n        return 1\n    return 1\n", Violation, '"__del__"'),
    # --- builtins through the back door ------------------------------------------------------
    Hostile("help()", fn("return help(solve)"), Violation, "'help' is not available"),
    Hostile("license", fn("return license._Printer__filenames"), Violation, "'license' is not available"),
    Hostile("print.__self__", fn("return print.__self__.open"), Violation, '"__self__"'),
    Hostile("__builtins__", fn("return __builtins__['open']"), Violation, '"__builtins__"'),
    Hostile("__import__", fn("return __import__('os').system('id')"), Violation, '"__import__"'),
    Hostile("globals()", fn("return globals()['__builtins__']"), Violation, "'globals' is not available"),
    Hostile("getattr", fn("return getattr(1, '__class__')"), Violation, "'getattr' is not available"),
    Hostile("vars and dir", fn("return vars(solve)"), Violation, "'vars' is not available"),
    Hostile("exit()", fn("exit(1)"), Violation, "'exit' is not available"),
    Hostile("SystemExit", fn("raise SystemExit(1)"), Violation, "'SystemExit' is not available"),
    # --- function and code-object construction -----------------------------------------------
    Hostile("__code__.replace", fn("return (lambda: 0).__code__.replace(co_code=b'')"), Violation, '"__code__"'),
    Hostile("function type", fn("return type(solve)(solve.__code__, {})"), Violation, "'type' is not available"),
    Hostile("__defaults__", fn("return solve.__defaults__"), Violation, '"__defaults__"'),
    Hostile("__closure__ cell", fn("x = 1\nf = lambda: x\nreturn f.__closure__[0].cell_contents"), Violation, '"__closure__"'),
    # --- modules that reach the interpreter ----------------------------------------------------
    *(Hostile(f"import {m}", f"import {m}\ndef solve():\n    return 1\n", Violation, f"module '{m}' is not available")
      for m in ("gc", "sys", "inspect", "ctypes", "mmap", "pickle", "marshal", "importlib", "builtins", "posix")),
    Hostile("module of a module", fn("import textwrap\nreturn textwrap.re"), Violation, "textwrap.re is not available"),
    Hostile("extract's own imports", fn("import extract\nreturn extract.Price.fromstring('1')"), Violation,
            "extract.Price is not available"),
    Hostile("extract's regex module", fn("import extract\nreturn extract.re.compile"), Violation, "extract.re is not available"),
    Hostile("extract's helpers", fn("import extract\nreturn extract.amount.__globals__"), Violation, '"__globals__"'),
    Hostile("extract's datetime module", fn("import extract\nreturn extract.datetime.date"), Violation,
            "extract.datetime is not available"),
    Hostile("extract's date helpers", fn("import extract\nreturn extract.date.__globals__"), Violation, '"__globals__"'),
    Hostile("submodule import", "import json.decoder\ndef solve():\n    return 1\n", Violation, "'json.decoder' is not available"),
    Hostile("from-import of a submodule", "from collections import abc\ndef solve():\n    return 1\n", Violation, "collections.abc"),
    Hostile("relative import", "from . import worker\ndef solve():\n    return 1\n", Violation, "not available to procedures"),
    Hostile("star import", "from math import *\ndef solve():\n    return 1\n", Violation, '"\\*" imports are not allowed'),
    # --- eval, exec, compile --------------------------------------------------------------------
    Hostile("eval", fn("return eval('1 + 1')"), Violation, "Eval calls are not allowed"),
    Hostile("exec", fn("exec('x = 1')"), Violation, "Exec calls are not allowed"),
    Hostile("compile", fn("return compile('1', 'x', 'eval')"), Violation, "'compile' is not available"),
    # --- module poisoning across runs -------------------------------------------------------------
    Hostile("json.dumps replaced", fn("import json\njson.dumps = len\nreturn 1"), Violation,
            "not attribute 'dumps' of a module", then=JSON_DUMPS_STILL_WORKS),
    Hostile("decimal default context", fn("import decimal\ndecimal.DefaultContext.prec = 2"), Violation,
            "decimal.DefaultContext is not available", then=DECIMAL_STILL_EXACT),
    Hostile("decimal traps cleared", fn("import decimal\ndecimal.getcontext().clear_traps()\nreturn 1 / 0"), ProcedureError,
            "ZeroDivisionError", then=("import decimal\ndef solve():\n    try:\n        decimal.Decimal(1) / 0\n"
                                        "    except decimal.DivisionByZero:\n        return 'trapped'\n", "trapped")),
    Hostile("math.pi replaced", fn("import math\nmath.pi = 3\nreturn 1"), Violation, "not attribute 'pi'",
            then=("import math\ndef solve():\n    return math.pi > 3.14\n", True)),
    Hostile("csv field size", fn("import csv\ncsv.field_size_limit(1)\nreturn 1"), Violation, "csv.field_size_limit is not available"),
    Hostile("module item write", fn("import string\nstring.digits[0] = 'x'"), Violation, "not items of a str"),
    Hostile("setcontext", fn("import decimal\ndecimal.setcontext(decimal.Context(prec=2))"), Violation,
            "decimal.setcontext is not available", then=DECIMAL_STILL_EXACT),
    # --- host-side time bombs ----------------------------------------------------------------------
    Hostile("class with __del__", "class Bomb:\n    def __del__(self):\n        while True:\n            pass\n"
            "def solve():\n    return Bomb()\n", Violation, "method __del__ is not available"),
    Hostile("instance returned to the host", "class Liar:\n    def __eq__(self, other):\n        return True\n"
            "def solve():\n    return Liar()\n", ProcedureError, "not a JSON value"),
    # --- class factories and protocol hooks (issue 28) ---------------------------------------
    Hostile("__exit__ handed a traceback", "class Catch:\n    def __enter__(self):\n        return self\n"
            "    def __exit__(self, kind, error, tb):\n        return tb\n"
            "def solve():\n    return 1\n", Violation, "method __exit__ is not available"),
    Hostile("__init_subclass__ hook", "class Base:\n    def __init_subclass__(cls):\n        pass\n"
            "def solve():\n    return 1\n", Violation, "method __init_subclass__ is not available"),
    Hostile("__set_name__ hook", "class Field:\n    def __set_name__(self, owner, name):\n        pass\n"
            "def solve():\n    return 1\n", Violation, "method __set_name__ is not available"),
    Hostile("descriptor __get__", "class Sneaky:\n    def __get__(self, obj, owner):\n        return obj\n"
            "def solve():\n    return 1\n", Violation, "method __get__ is not available"),
    Hostile("__getattribute__ inside the guard", "class Spy:\n    def __getattribute__(self, name):\n        return name\n"
            "def solve():\n    return 1\n", Violation, "method __getattribute__ is not available"),
    Hostile("__reduce__ for pickling", "class P:\n    def __reduce__(self):\n        return (print, ('x',))\n"
            "def solve():\n    return 1\n", Violation, "method __reduce__ is not available"),
    Hostile("metaclass keyword", "class M:\n    pass\nclass A(metaclass=M):\n    pass\ndef solve():\n    return 1\n",
            Violation, "class keywords"),
    Hostile("class keyword to __init_subclass__", "class A(str, flavour=1):\n    pass\ndef solve():\n    return 1\n",
            Violation, "class keywords"),
    Hostile("dunder assigned in a class body", "class A:\n    __eq__ = len\ndef solve():\n    return 1\n",
            Violation, '"__eq__" is an invalid variable name'),
    Hostile("unbound protocol method", "class E(ValueError):\n    def __init__(self, m):\n        ValueError.__init__(self, m)\n"
            "def solve():\n    return 1\n", Violation, "only as super"),
    Hostile("super with arguments", fn("import collections\nd = collections.OrderedDict()\n"
                                       "return super(collections.OrderedDict, d).__init__({'a': 1})"),
            Violation, "only as super"),
    Hostile("enum functional API via mro()", fn("import re\nFlag = re.RegexFlag.mro()[2]\n"
                                                "return str(Flag('X', {'A': 1}))"), Violation, "mro\\(\\) is not available"),
    Hostile("enum functional API on a flag with members", fn("import re\nreturn str(re.RegexFlag('X', {'A': 1}))"),
            ProcedureError, "TypeError"),
    Hostile("string annotation to singledispatch", "import functools\n@functools.singledispatch\ndef f(x):\n    return 0\n"
            "def g(x: \"().__class__.__base__.__subclasses__()\"):\n    return 1\n"
            "def solve():\n    f.register(g)\n    return 1\n", ProcedureError, "TypeError"),
    Hostile("class pattern reads a dunder", fn("match 1:\n    case int(__class__=c):\n        return c"),
            Violation, "may not read the attribute '__class__'"),
    Hostile("class pattern reads a frame", fn("g = (i for i in [1])\nmatch g:\n    case str(gi_frame=f):\n        return 1"),
            Violation, "may not read the attribute 'gi_frame'"),
    Hostile("value pattern reads a dunder", fn("import re\nmatch 1:\n    case re.__loader__:\n        return 1"),
            Violation, "may not read the attribute '__loader__'"),
    Hostile("namedtuple field names as code", fn("import collections\n"
                                                  "return collections.namedtuple('P', ['a', 'b): import os; (c'])(1, 2)"),
            ProcedureError, "ValueError"),
    Hostile("csv dialect by unknown name", fn("import csv, io\nreturn list(csv.reader(io.StringIO('a'), dialect='evil'))"),
            ProcedureError, "unknown dialect"),
    # --- techniques of the public jail-escape collections not covered above -------------------
    *(Hostile(f"import {module}", fn(f"import {module}\nreturn 1"), Violation, f"module '{module}' is not available")
      for module in ("warnings", "types", "operator", "code", "codecs", "signal", "runpy", "pdb", "timeit",
                     "platform", "enum", "typing", "abc", "copyreg", "weakref", "dataclasses", "contextlib")),
    Hostile("import _posixsubprocess", fn("import _posixsubprocess\nreturn 1"), Violation, "starts with \"_\""),
    *(Hostile(f"{name}()", fn(f"return {name}()"), Violation, f"'{name}' is not available")
      for name in ("breakpoint", "input", "locals", "memoryview", "dir", "copyright", "credits", "quit")),
    Hostile("write to a module's class", fn("import textwrap\ntextwrap.TextWrapper.width = 3\nreturn 1"),
            Violation, "not attribute 'width' of a type"),
    Hostile("submodule walk json.decoder", fn("import json\nreturn str(json.decoder)"), Violation,
            "json.decoder is not available"),
    Hostile("io.BytesIO", fn("import io\nreturn io.BytesIO(b'x').read()"), Violation, "io.BytesIO is not available"),
    Hostile("exception whose message raises", "class Bad(Exception):\n    def __str__(self):\n        raise ValueError('no')\n"
            "def solve():\n    raise Bad()\n", ProcedureError, "its message could not be read"),
    Hostile("exception whose message never ends", "class Slow(Exception):\n    def __str__(self):\n        while True:\n"
            "            pass\ndef solve():\n    raise Slow()\n", Timeout, "CPU seconds"),
    Hostile("recursion through __repr__", "class Loop:\n    def __repr__(self):\n        return repr(self)\n"
            "def solve():\n    return repr(Loop())\n", ProcedureError, "RecursionError"),
    Hostile("codec looked up by name", fn("return 'x'.encode('rot13')"), ProcedureError, "unknown encoding"),
    Hostile("codec by name in str()", fn("return str(b'x', 'mbcs')"), ProcedureError, "unknown encoding"),
    Hostile("codec by name in bytes.decode", fn("return b'78'.decode('hex_codec')"), ProcedureError, "unknown encoding"),
    Hostile("generator returned to the host", fn("return (x for x in [1])"), ProcedureError, "not a JSON value"),
    Hostile("set returned to the host", fn("return {1, 2}"), ProcedureError, "not a JSON value"),
    Hostile("function returned to the host", fn("return solve"), ProcedureError, "not a JSON value"),
    Hostile("generator finally left in a local", fn("it = bomb()\nnext(it)\nreturn 1",
            head="def bomb():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass"),
            Timeout, "CPU seconds"),
    # --- Unicode identifier tricks -----------------------------------------------------------------
    Hostile("fullwidth dunder", fn("return ().__\uff43\uff4c\uff41\uff53\uff53__"), Violation, '"__class__"'),
    Hostile("fullwidth eval", fn("return \uff45\uff56\uff41\uff4c('1')"), Violation, "Eval calls are not allowed"),
    Hostile("mathematical italic open", fn("return \U0001d45c\U0001d45d\U0001d452\U0001d45b('/etc/passwd')"),
            Violation, "'open' is not available"),
    Hostile("Cyrillic lookalike", fn("return \u0435val('1')"), ProcedureError, "NameError"),
    # --- network ------------------------------------------------------------------------------------
    *(Hostile(f"network: {m}", f"import {m}\ndef solve():\n    return 1\n", Violation, "is not available")
      for m in ("socket", "urllib.request", "http.client", "ssl", "asyncio", "select")),
    Hostile("DNS lookup", fn("import socket\nreturn socket.gethostbyname('example.com')"), Violation, "module 'socket'"),
    # --- files ----------------------------------------------------------------------------------------
    Hostile("read /etc/passwd", fn("return open('/etc/passwd').read()"), Violation, "'open' is not available"),
    Hostile("read the seglam home", fn("return open('/root/.cache/seglam/store/chroma.sqlite3', 'rb').read()"),
            Violation, "'open' is not available"),
    Hostile("io.open", "from io import open\ndef solve():\n    return open('/etc/passwd').read()\n", Violation, "io.open is not available"),
    Hostile("io.FileIO", fn("import io\nreturn io.FileIO('/etc/passwd').read()"), Violation, "io.FileIO is not available"),
    Hostile("pathlib", "import pathlib\ndef solve():\n    return pathlib.Path('/etc/passwd').read_text()\n", Violation, "module 'pathlib'"),
    Hostile("json.load of a file", "from json import load\ndef solve():\n    return 1\n", Violation, "json.load is not available"),
    # --- environment and processes ---------------------------------------------------------------------
    Hostile("environment", fn("import os\nreturn dict(os.environ)"), Violation, "module 'os' is not available"),
    Hostile("subprocess", fn("import subprocess\nreturn subprocess.check_output(['id'])"), Violation, "module 'subprocess'"),
    Hostile("os.system", fn("import os\nreturn os.system('id')"), Violation, "module 'os'"),
    Hostile("fork bomb", fn("import os\nwhile True:\n    os.fork()"), Violation, "module 'os'"),
    Hostile("multiprocessing", "import multiprocessing\ndef solve():\n    return 1\n", Violation, "module 'multiprocessing'"),
    Hostile("threads", "import threading\ndef solve():\n    return 1\n", Violation, "module 'threading'"),
    # --- resources ---------------------------------------------------------------------------------------
    Hostile("infinite loop", fn("while True:\n    pass"), Timeout, "CPU seconds",
            then=("def solve():\n    return 'alive'\n", "alive")),
    Hostile("10**10**8", fn("return 10 ** 10 ** 8"), Timeout, "CPU seconds"),
    Hostile("'a' * 10**10", fn("return 'a' * 10 ** 10"), MemoryLimit, "256 MB"),
    Hostile("a list of 10**8", fn("return [0] * 10 ** 8"), MemoryLimit, "256 MB"),
    # Growing a list item by item takes page faults the kernel bills as CPU time: on a loaded
    # machine 1 CPU second sometimes ran out before 256 MB did (seen twice in make test).
    Hostile("endless list", fn("import itertools\nreturn list(itertools.count())"), MemoryLimit, "256 MB", cpu_s=5),
    Hostile("deep recursion", fn("return solve()"), ProcedureError, "RecursionError"),
    Hostile("deeply nested answer", fn("x = []\nfor i in range(10 ** 5):\n    x = [x]\nreturn x"), ProcedureError,
            "maximum recursion depth"),
    Hostile("catastrophic regex", fn("import re\nreturn bool(re.match(r'(a+)+$', 'a' * 40 + 'b'))"), Timeout, "CPU seconds"),
    Hostile("factorial in one C call", fn("import math\nreturn math.factorial(10 ** 7) > 0"), Timeout, "CPU seconds"),
    Hostile("huge answer", fn("return 'x' * 10 ** 6"), OutputLimit, "over the limit of 100000 bytes"),
    Hostile("many small answers", fn("return list(range(10 ** 5))"), OutputLimit, "over the limit"),
    Hostile("sleep", fn("import time\ntime.sleep(60)"), Violation, "time.sleep is not available"),
    Hostile("busy waiting", fn("import time\nend = time.time() + 60\nwhile time.time() < end:\n    pass"), Timeout, "CPU seconds"),
    Hostile("CPU limit swallowed", fn("while True:\n    try:\n        while True:\n            pass\n    except:\n        pass"),
            Timeout, "limit"),
    Hostile("huge integer string", fn("return int('9' * 10 ** 6)"), ProcedureError, "ValueError"),
    Hostile("integer answer too long", fn("return 10 ** 5000"), ProcedureError, "not a JSON value"),
    Hostile("NaN answer", fn("return float('nan')"), ProcedureError, "not a JSON value"),
    Hostile("lone surrogate answer", fn("return '\\ud800'"), ProcedureError, "not a JSON value"),
]

LEGITIMATE: list[tuple[str, str, dict, Any]] = [
    ("csv sum", "import csv\nimport io\n\ndef solve(table):\n"
     "    return sum(float(r['amount']) for r in csv.DictReader(io.StringIO(table)))\n",
     {"table": "id,amount\n1,2.5\n2,3"}, 5.5),
    ("csv write", "import csv, io\n\ndef solve(rows):\n    out = io.StringIO()\n    csv.writer(out).writerows(rows)\n"
     "    return out.getvalue()\n", {"rows": [[1, "a"], [2, "b,c"]]}, '1,a\r\n2,"b,c"\r\n'),
    ("regex extraction", "import re\n\ndef solve(text):\n    return re.findall(r'[\\w.]+@[\\w.]+', text)\n",
     {"text": "mail a@b.io or c@d.org"}, ["a@b.io", "c@d.org"]),
    ("regex groups", "import re\n\ndef solve(text):\n    m = re.search(r'(?P<d>\\d{4})-(?P<m>\\d\\d)', text)\n"
     "    return m.group('d') if m else None\n", {"text": "due 2026-03"}, "2026"),
    ("dates", "from datetime import datetime, timedelta\n\ndef solve(day):\n"
     "    return (datetime.strptime(day, '%d.%m.%Y') + timedelta(days=30)).strftime('%Y-%m-%d')\n",
     {"day": "15.01.2026"}, "2026-02-14"),
    ("date arithmetic", "from datetime import date\n\ndef solve(a, b):\n"
     "    return (date.fromisoformat(b) - date.fromisoformat(a)).days\n", {"a": "2026-01-01", "b": "2026-03-01"}, 59),
    ("decimals", "from decimal import Decimal, ROUND_HALF_UP\n\ndef solve(a):\n"
     "    return str(Decimal(a).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP))\n", {"a": "2.675"}, "2.68"),
    ("local decimal precision", "import decimal\n\ndef solve():\n    with decimal.localcontext() as ctx:\n"
     "        return str(decimal.Decimal(1) / decimal.Decimal(7))[:6]\n", {}, "0.1428"),
    ("fractions", "from fractions import Fraction\n\ndef solve(xs):\n    return str(sum(Fraction(x) for x in xs))\n",
     {"xs": ["1/3", "1/6"]}, "1/2"),
    ("counter", "from collections import Counter\n\ndef solve(words):\n    return Counter(words.split()).most_common(1)[0][0]\n",
     {"words": "a b a"}, "a"),
    ("item += on a dict", "def solve(words):\n    counts = {}\n    for w in words:\n        counts[w] = counts.get(w, 0)\n"
     "        counts[w] += 1\n    return counts\n", {"words": ["a", "b", "a"]}, {"a": 2, "b": 1}),
    ("defaultdict +=", "from collections import defaultdict\n\ndef solve(pairs):\n    totals = defaultdict(float)\n"
     "    for k, v in pairs:\n        totals[k] += v\n    return dict(totals)\n", {"pairs": [["x", 1], ["x", 2.5]]}, {"x": 3.5}),
    ("str.format", "def solve(x, row):\n    return '{:.2f} {}'.format(x, row['name']) + '|{0[name]:>3}'.format(row)\n", {"x": 3.14159, "row": {"name": "pi"}}, "3.14 pi| pi"),
    ("format_map and f-strings", "def solve(row):\n    return '{name}: '.format_map(row) + f\"{row['n']:>3}\"\n",
     {"row": {"name": "a", "n": 7}}, "a:   7"),
    ("statistics", "import statistics\n\ndef solve(xs):\n    return [statistics.mean(xs), statistics.median(xs)]\n",
     {"xs": [1, 2, 3, 10]}, [4, 2.5]),
    ("json round trip", "import json\n\ndef solve(text):\n    data = json.loads(text)\n    return json.dumps(data, sort_keys=True)\n",
     {"text": '{"b": 1, "a": [1, 2]}'}, '{"a": [1, 2], "b": 1}'),
    ("itertools and functools", "import itertools, functools\n\ndef solve(xs):\n    pairs = list(itertools.combinations(xs, 2))\n"
     "    return [len(pairs), functools.reduce(lambda a, b: a * b, xs)]\n", {"xs": [1, 2, 3, 4]}, [6, 24]),
    ("groupby and sorted keys", "import itertools\n\ndef solve(rows):\n    rows = sorted(rows, key=lambda r: r['k'])\n"
     "    return {k: sum(r['v'] for r in g) for k, g in itertools.groupby(rows, key=lambda r: r['k'])}\n",
     {"rows": [{"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "b", "v": 3}]}, {"a": 2, "b": 4}),
    ("text tools", "import textwrap, unicodedata, string\n\ndef solve(s):\n"
     "    clean = unicodedata.normalize('NFKD', s).encode('ascii', 'ignore').decode()\n"
     "    return [textwrap.shorten(clean, 12), string.capwords(clean)]\n", {"s": "caf\u00e9 au lait tonight"},
     ["cafe [...]", "Cafe Au Lait Tonight"]),
    ("heapq and bisect", "import heapq, bisect\n\ndef solve(xs):\n    return [heapq.nlargest(2, xs), bisect.bisect(sorted(xs), 3)]\n",
     {"xs": [5, 1, 3, 9]}, [[9, 5], 2]),
    ("generators and closures", "def solve(n):\n    def squares():\n        for i in range(n):\n            yield i * i\n"
     "    return sum(squares())\n", {"n": 4}, 14),
    ("exceptions handled", "def solve(values):\n    out = []\n    for v in values:\n        try:\n            out.append(float(v))\n"
     "        except ValueError:\n            out.append(None)\n    return out\n", {"values": ["1.5", "x"]}, [1.5, None]),
    ("print is harmless", "def solve():\n    print('hello')\n    return 1\n", {}, 1),
    ("tuples become lists", "def solve():\n    return (1, (2, 'a'))\n", {}, [1, [2, "a"]]),
    ("unicode answer", "def solve(s):\n    return s[::-1]\n", {"s": "h\u00e9\U0001f600"}, "\U0001f600\u00e9h"),
    ("from-import of extract", "from extract import total\n\ndef solve(text):\n    return total(text)\n",
     {"text": "Subtotal 9.00\nTotal 10.50"}, 10.5),
    # Its endless `finally` never runs: the run's process ends with its reply, without clean-up.
    ("generator finally left in a global", "def bomb():\n    try:\n        yield 1\n    finally:\n        while True:\n"
     "            pass\nit = bomb()\nnext(it)\ndef solve():\n    return 1\n", {}, 1),
]
