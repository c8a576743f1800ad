"""Legitimate procedures that must run in the sandbox exactly as in plain CPython (issue 28, item 5).

Each row is (name, source, inputs): the source defines a top-level `def solve(...)`, called as
`solve(**inputs)`; inputs and answers are JSON values, and every procedure is deterministic, so
its answer in the sandbox must equal the answer plain CPython gives for the same source.

They are written the way programmers and small models write data-processing code: record classes,
small parsers as classes, custom exceptions raised and caught, inheritance, comparison and
formatting dunders, iterator classes; `match` with literal, sequence, mapping and class patterns;
generators, closures with `nonlocal`, the walrus operator, try/except/else/finally,
comprehensions, f-string format specs, recursion and sorting with keys; and every allowed module
(csv, json, re, datetime, time, decimal, fractions, statistics, collections, itertools,
functools, textwrap, unicodedata, string, html, urllib.parse, base64, heapq, bisect, math,
cmath, io.StringIO) on realistic tasks: invoices and receipts, CSV aggregation, JSON reshaping,
date normalisation, currency rounding, slugs, word counts, validation.

They keep to the procedure language: no names or attributes starting with `_` (a class may
define the protocol dunders, and call `super().__init__`), imports from the allowed modules
only. The last rows are written as models write them, with type annotations (the policy drops
them) and `with decimal.localcontext()`.
"""

PROCEDURES: list[tuple[str, str, dict]] = [
    # --- classes: records, parsers, custom exceptions, inheritance, dunder methods ----------------
    ("invoice line record class", r'''
class LineItem:
    def __init__(self, sku, qty, unit_price):
        self.sku = sku
        self.qty = qty
        self.unit_price = unit_price

    def total(self):
        return round(self.qty * self.unit_price, 2)


def solve(lines):
    items = [LineItem(l["sku"], l["qty"], l["price"]) for l in lines]
    return {
        "lines": [{"sku": i.sku, "total": i.total()} for i in items],
        "grand_total": round(sum(i.total() for i in items), 2),
    }
''', {"lines": [{"sku": "A-1", "qty": 3, "price": 2.5}, {"sku": "B-7", "qty": 1, "price": 19.99}]}),

    ("money class with add and radd", r'''
class Money:
    def __init__(self, cents, currency="EUR"):
        self.cents = cents
        self.currency = currency

    def __add__(self, other):
        if isinstance(other, Money):
            if other.currency != self.currency:
                raise ValueError("currency mismatch")
            return Money(self.cents + other.cents, self.currency)
        return Money(self.cents + other, self.currency)

    def __radd__(self, other):
        return self + other

    def __str__(self):
        return f"{self.cents / 100:.2f} {self.currency}"


def solve(amounts):
    total = sum(Money(round(a * 100)) for a in amounts)
    return str(total)
''', {"amounts": [12.5, 3.99, 0.01, 100]}),

    ("custom validation exception caught", r'''
class ValidationError(ValueError):
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


def validate(row):
    if not row.get("email") or "@" not in row["email"]:
        raise ValidationError("email", "missing or malformed")
    if not isinstance(row.get("age"), int) or row["age"] < 0:
        raise ValidationError("age", "must be a non-negative integer")
    return row


def solve(rows):
    good, errors = [], []
    for i, row in enumerate(rows):
        try:
            good.append(validate(row)["email"])
        except ValidationError as e:
            errors.append({"row": i, "field": e.field, "error": str(e)})
    return {"valid": good, "errors": errors}
''', {"rows": [{"email": "a@x.org", "age": 30}, {"email": "nope", "age": 3}, {"email": "b@y.com", "age": -1}]}),

    ("sorted by dunder lt", r'''
class Version:
    def __init__(self, text):
        self.text = text
        self.parts = [int(p) for p in text.split(".")]

    def __lt__(self, other):
        return self.parts < other.parts

    def __eq__(self, other):
        return isinstance(other, Version) and self.parts == other.parts

    def __repr__(self):
        return f"Version({self.text!r})"


def solve(versions):
    ordered = sorted(Version(v) for v in versions)
    return {"sorted": [v.text for v in ordered], "latest": repr(max(ordered))}
''', {"versions": ["1.10.0", "1.2.3", "1.2.10", "0.9"]}),

    ("iterator class over pages", r'''
class Pager:
    def __init__(self, items, size):
        self.items = items
        self.size = size
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.pos >= len(self.items):
            raise StopIteration
        page = self.items[self.pos:self.pos + self.size]
        self.pos = self.pos + self.size
        return page


def solve(items, size):
    return [{"page": n, "items": page} for n, page in enumerate(Pager(items, size), start=1)]
''', {"items": ["a", "b", "c", "d", "e"], "size": 2}),

    ("inheritance shapes with super", r'''
import math


class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        raise NotImplementedError

    def describe(self):
        return f"{self.name}: {self.area():.2f}"


class Circle(Shape):
    def __init__(self, r):
        super().__init__("circle")
        self.r = r

    def area(self):
        return math.pi * self.r ** 2


class Rect(Shape):
    def __init__(self, w, h):
        super().__init__("rect")
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h


class Square(Rect):
    def __init__(self, side):
        super().__init__(side, side)
        self.name = "square"

    def describe(self):
        return super().describe() + " (square)"


def solve(specs):
    shapes = []
    for s in specs:
        if s["kind"] == "circle":
            shapes.append(Circle(s["r"]))
        elif s["kind"] == "square":
            shapes.append(Square(s["side"]))
        else:
            shapes.append(Rect(s["w"], s["h"]))
    return [sh.describe() for sh in shapes]
''', {"specs": [{"kind": "circle", "r": 1}, {"kind": "rect", "w": 2, "h": 3.5}, {"kind": "square", "side": 4}]}),

    ("tokenizer class for arithmetic", r'''
import re


class Tokenizer:
    TOKEN = re.compile(r"\s*(?:(\d+\.?\d*)|(.))")

    def __init__(self, text):
        self.tokens = [(num, op) for num, op in self.TOKEN.findall(text)]
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i = self.i + 1
        return tok


class Parser:
    def __init__(self, text):
        self.tz = Tokenizer(text)

    def expr(self):
        value = self.term()
        while self.tz.peek()[1] in ("+", "-"):
            op = self.tz.take()[1]
            value = value + self.term() if op == "+" else value - self.term()
        return value

    def term(self):
        value = self.atom()
        while self.tz.peek()[1] in ("*", "/"):
            op = self.tz.take()[1]
            value = value * self.atom() if op == "*" else value / self.atom()
        return value

    def atom(self):
        num, op = self.tz.take()
        if op == "(":
            value = self.expr()
            self.tz.take()
            return value
        if op == "-":
            return -self.atom()
        return float(num)


def solve(expressions):
    return [Parser(e).expr() for e in expressions]
''', {"expressions": ["1 + 2 * 3", "(1 + 2) * 3", "10 / 4 - -1", "2 * (3 + 4) * 0.5"]}),

    ("exception hierarchy for parsing", r'''
class ParseError(ValueError):
    pass


class MissingField(ParseError):
    pass


class BadNumber(ParseError):
    pass


def parse_record(line):
    parts = [p.strip() for p in line.split(";")]
    if len(parts) < 3 or not all(parts[:3]):
        raise MissingField(f"expected 3 fields in {line!r}")
    name, qty, price = parts[:3]
    try:
        return {"name": name, "qty": int(qty), "price": float(price)}
    except ValueError:
        raise BadNumber(f"bad number in {line!r}") from None


def solve(lines):
    out = {"ok": [], "missing": 0, "bad_number": 0}
    for line in lines:
        try:
            out["ok"].append(parse_record(line))
        except MissingField:
            out["missing"] += 1
        except ParseError:
            out["bad_number"] += 1
    return out
''', {"lines": ["apple; 3; 0.5", "pear;;1.0", "plum; x; 2", "fig; 2; 1.25; extra"]}),

    ("stack class with len and bool", r'''
class Stack:
    def __init__(self):
        self.items = []

    def push(self, x):
        self.items.append(x)

    def pop(self):
        return self.items.pop()

    def __len__(self):
        return len(self.items)

    def __bool__(self):
        return len(self.items) > 0


def solve(text):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = Stack()
    for i, ch in enumerate(text):
        if ch in "([{":
            stack.push((ch, i))
        elif ch in pairs:
            if not stack or stack.pop()[0] != pairs[ch]:
                return {"balanced": False, "at": i}
    if stack:
        return {"balanced": False, "at": stack.pop()[1]}
    return {"balanced": True, "at": None}
''', {"text": "{a: [1, (2, 3)], b: (4]}"}),

    ("vector class arithmetic", r'''
import math


class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def __sub__(self, other):
        return Vec(self.x - other.x, self.y - other.y)

    def __mul__(self, k):
        return Vec(self.x * k, self.y * k)

    def __rmul__(self, k):
        return self * k

    def __neg__(self):
        return Vec(-self.x, -self.y)

    def __abs__(self):
        return math.hypot(self.x, self.y)

    def __eq__(self, other):
        return (self.x, self.y) == (other.x, other.y)

    def as_list(self):
        return [self.x, self.y]


def solve(points):
    vs = [Vec(*p) for p in points]
    path = sum((abs(b - a) for a, b in zip(vs, vs[1:])), 0.0)
    centroid = Vec(0, 0)
    for v in vs:
        centroid = centroid + v
    centroid = centroid * (1 / len(vs))
    return {"path": round(path, 4), "centroid": centroid.as_list(),
            "flipped": (-vs[0]).as_list(), "doubled": (2 * vs[1]).as_list(), "closed": vs[0] == vs[-1]}
''', {"points": [[0, 0], [3, 4], [6, 0], [0, 0]]}),

    ("hashable class in set and dict", r'''
class Coord:
    def __init__(self, lat, lon):
        self.lat = round(lat, 3)
        self.lon = round(lon, 3)

    def __eq__(self, other):
        return isinstance(other, Coord) and (self.lat, self.lon) == (other.lat, other.lon)

    def __hash__(self):
        return hash((self.lat, self.lon))

    def __repr__(self):
        return f"({self.lat}, {self.lon})"


def solve(readings):
    counts = {}
    for r in readings:
        c = Coord(r[0], r[1])
        counts[c] = counts.get(c, 0) + 1
    unique = set(counts)
    return {"unique": len(unique),
            "counts": sorted([repr(c), n] for c, n in counts.items())}
''', {"readings": [[52.52001, 13.40499], [52.5201, 13.405], [48.8566, 2.3522], [52.52, 13.405]]}),

    ("container class contains and getitem", r'''
class Catalog:
    def __init__(self, products):
        self.by_sku = {p["sku"].upper(): p for p in products}

    def __contains__(self, sku):
        return sku.upper() in self.by_sku

    def __getitem__(self, sku):
        try:
            return self.by_sku[sku.upper()]
        except KeyError:
            raise KeyError(f"unknown sku {sku}") from None

    def __len__(self):
        return len(self.by_sku)


def solve(products, order):
    cat = Catalog(products)
    lines, missing = [], []
    for sku, qty in order:
        if sku in cat:
            lines.append({"sku": sku.upper(), "cost": round(cat[sku]["price"] * qty, 2)})
        else:
            missing.append(sku)
    return {"catalog_size": len(cat), "lines": lines, "missing": missing}
''', {"products": [{"sku": "ab1", "price": 2.0}, {"sku": "CD2", "price": 0.35}],
      "order": [["AB1", 3], ["cd2", 10], ["zz9", 1]]}),

    ("callable class as key function", r'''
class FieldKey:
    def __init__(self, *fields, reverse_fields=()):
        self.fields = fields
        self.reverse_fields = set(reverse_fields)

    def __call__(self, row):
        key = []
        for f in self.fields:
            v = row[f]
            key.append(-v if f in self.reverse_fields else v)
        return tuple(key)


def solve(rows):
    key = FieldKey("dept", "salary", reverse_fields=["salary"])
    return [r["name"] for r in sorted(rows, key=key)]
''', {"rows": [{"name": "ann", "dept": "b", "salary": 50}, {"name": "bob", "dept": "a", "salary": 40},
               {"name": "cy", "dept": "b", "salary": 70}, {"name": "di", "dept": "a", "salary": 45}]}),

    ("format dunder for money", r'''
class Amount:
    def __init__(self, value, currency):
        self.value = value
        self.currency = currency

    def __format__(self, spec):
        if spec == "short":
            return f"{self.currency}{self.value:,.0f}"
        return f"{self.value:{spec or ',.2f'}} {self.currency}"

    def __str__(self):
        return format(self)


def solve(entries):
    out = []
    for e in entries:
        a = Amount(e["value"], e["cur"])
        out.append(f"{e['label']:<8}|{a}|{a:short}|{a:>12.1f}")
    return out
''', {"entries": [{"label": "rent", "value": 1250.5, "cur": "EUR"}, {"label": "bonus", "value": 12345.678, "cur": "USD"}]}),

    ("int float index dunders", r'''
class Percent:
    def __init__(self, text):
        self.text = text.strip().rstrip("%")

    def __float__(self):
        return float(self.text) / 100

    def __int__(self):
        return int(float(self.text))


class Slot:
    def __init__(self, n):
        self.n = n

    def __index__(self):
        return self.n


def solve(percents, names, slot):
    ps = [Percent(p) for p in percents]
    return {"fractions": [float(p) for p in ps], "whole": [int(p) for p in ps],
            "picked": names[Slot(slot)], "hex": hex(Slot(255))}
''', {"percents": ["12.5%", "100%", " 7 %"], "names": ["a", "b", "c"], "slot": 1}),

    ("comparison dunders for priority", r'''
class Task:
    PRIORITY = {"high": 0, "medium": 1, "low": 2}

    def __init__(self, title, level, due):
        self.title = title
        self.rank = self.PRIORITY[level]
        self.due = due

    def key(self):
        return (self.rank, self.due)

    def __lt__(self, other):
        return self.key() < other.key()

    def __le__(self, other):
        return self.key() <= other.key()

    def __gt__(self, other):
        return self.key() > other.key()

    def __ge__(self, other):
        return self.key() >= other.key()

    def __ne__(self, other):
        return self.key() != other.key()


def solve(tasks):
    ts = [Task(t["title"], t["level"], t["due"]) for t in tasks]
    first = min(ts)
    return {"order": [t.title for t in sorted(ts)], "first": first.title,
            "all_after_first": all(t >= first for t in ts),
            "distinct_from_first": sum(1 for t in ts if t != first)}
''', {"tasks": [{"title": "report", "level": "medium", "due": "2024-05-02"},
                {"title": "fix bug", "level": "high", "due": "2024-05-03"},
                {"title": "lunch", "level": "low", "due": "2024-05-01"},
                {"title": "deploy", "level": "high", "due": "2024-05-01"}]}),

    ("classmethod constructor from line", r'''
class Employee:
    def __init__(self, name, dept, salary):
        self.name = name
        self.dept = dept
        self.salary = salary

    @classmethod
    def from_line(cls, line):
        name, dept, salary = [p.strip() for p in line.split(",")]
        return cls(name.title(), dept.upper(), int(salary))

    @staticmethod
    def is_valid_line(line):
        return line.count(",") == 2 and line.split(",")[2].strip().isdigit()

    @property
    def monthly(self):
        return round(self.salary / 12, 2)


def solve(lines):
    staff = [Employee.from_line(l) for l in lines if Employee.is_valid_line(l)]
    return [{"name": e.name, "dept": e.dept, "monthly": e.monthly} for e in staff]
''', {"lines": ["ada lovelace, eng, 96000", "bad line", "grace hopper,ops,84000", "x, y, notanumber"]}),

    ("bank account with insufficient funds", r'''
class InsufficientFunds(Exception):
    def __init__(self, needed, available):
        super().__init__(f"need {needed}, have {available}")
        self.needed = needed
        self.available = available


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        self.balance = self.balance + amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            raise InsufficientFunds(amount, self.balance)
        self.balance = self.balance - amount
        self.history.append(("withdraw", amount))


def solve(ops):
    acct = Account("me", 100)
    rejected = []
    for kind, amount in ops:
        try:
            if kind == "d":
                acct.deposit(amount)
            else:
                acct.withdraw(amount)
        except InsufficientFunds as e:
            rejected.append({"amount": amount, "short_by": e.needed - e.available, "msg": str(e)})
    return {"balance": acct.balance, "rejected": rejected, "history": [list(h) for h in acct.history]}
''', {"ops": [["w", 30], ["w", 100], ["d", 50], ["w", 100]]}),

    ("inventory class augmented attribute", r'''
class Inventory:
    def __init__(self):
        self.stock = {}
        self.moves = 0

    def receive(self, sku, qty):
        self.stock[sku] = self.stock.get(sku, 0) + qty
        self.moves += 1

    def ship(self, sku, qty):
        have = self.stock.get(sku, 0)
        if qty > have:
            return False
        self.stock[sku] -= qty
        self.moves += 1
        return True


def solve(events):
    inv = Inventory()
    failed = []
    for e in events:
        if e["type"] == "in":
            inv.receive(e["sku"], e["qty"])
        elif not inv.ship(e["sku"], e["qty"]):
            failed.append(e["sku"])
    return {"stock": dict(sorted(inv.stock.items())), "moves": inv.moves, "failed": failed}
''', {"events": [{"type": "in", "sku": "x", "qty": 5}, {"type": "out", "sku": "x", "qty": 2},
                 {"type": "out", "sku": "y", "qty": 1}, {"type": "in", "sku": "a", "qty": 1}]}),

    ("running stats accumulator class", r'''
import math


class RunningStats:
    def __init__(self):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.lo = None
        self.hi = None

    def add(self, x):
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)
        self.lo = x if self.lo is None else min(self.lo, x)
        self.hi = x if self.hi is None else max(self.hi, x)

    def result(self):
        var = self.m2 / (self.n - 1) if self.n > 1 else 0.0
        return {"n": self.n, "mean": round(self.mean, 6), "stdev": round(math.sqrt(var), 6),
                "min": self.lo, "max": self.hi}


def solve(values):
    stats = RunningStats()
    for v in values:
        stats.add(v)
    return stats.result()
''', {"values": [2, 4, 4, 4, 5, 5, 7, 9]}),

    ("linked list class iter", r'''
class Node:
    def __init__(self, value, nxt=None):
        self.value = value
        self.next = nxt


class LinkedList:
    def __init__(self, values):
        self.head = None
        for v in reversed(values):
            self.head = Node(v, self.head)

    def __iter__(self):
        node = self.head
        while node is not None:
            yield node.value
            node = node.next

    def reverse(self):
        prev, node = None, self.head
        while node:
            node.next, prev, node = prev, node, node.next
        self.head = prev


def solve(values):
    ll = LinkedList(values)
    forward = list(ll)
    ll.reverse()
    return {"forward": forward, "reversed": list(ll)}
''', {"values": [1, "two", 3.0, None]}),

    ("state machine class for log sessions", r'''
class Session:
    def __init__(self, user):
        self.user = user
        self.state = "idle"
        self.events = []

    def handle(self, event):
        transitions = {
            ("idle", "login"): "active",
            ("active", "logout"): "idle",
            ("active", "timeout"): "expired",
            ("expired", "login"): "active",
        }
        nxt = transitions.get((self.state, event))
        if nxt is None:
            self.events.append(f"ignored {event} in {self.state}")
        else:
            self.events.append(f"{self.state}->{nxt}")
            self.state = nxt


def solve(log):
    sessions = {}
    for line in log.strip().splitlines():
        user, event = line.split()
        if user not in sessions:
            sessions[user] = Session(user)
        sessions[user].handle(event)
    return {u: {"state": s.state, "events": s.events} for u, s in sorted(sessions.items())}
''', {"log": "alice login\nbob logout\nalice timeout\nalice login\nbob login\nalice logout\n"}),

    ("matrix class with getitem tuple", r'''
class Matrix:
    def __init__(self, rows):
        self.rows = [list(r) for r in rows]
        self.n = len(rows)
        self.m = len(rows[0]) if rows else 0

    def __getitem__(self, ij):
        i, j = ij
        return self.rows[i][j]

    def __mul__(self, other):
        return Matrix([[sum(self[i, k] * other[k, j] for k in range(self.m)) for j in range(other.m)]
                       for i in range(self.n)])

    def transpose(self):
        return Matrix([[self[i, j] for i in range(self.n)] for j in range(self.m)])

    def __eq__(self, other):
        return self.rows == other.rows


def solve(a, b):
    A, B = Matrix(a), Matrix(b)
    product = A * B
    return {"product": product.rows, "transpose": A.transpose().rows,
            "symmetric": A == A.transpose()}
''', {"a": [[1, 2], [3, 4]], "b": [[0, 1], [1, 0]]}),

    ("config class with defaults and errors", r'''
class ConfigError(KeyError):
    pass


class Config:
    DEFAULTS = {"retries": 3, "timeout": 30.0, "verbose": False}
    TYPES = {"retries": int, "timeout": float, "verbose": bool}

    def __init__(self, raw):
        self.values = dict(self.DEFAULTS)
        for key, value in raw.items():
            if key not in self.TYPES:
                raise ConfigError(key)
            self.values[key] = self.convert(key, value)

    def convert(self, key, value):
        kind = self.TYPES[key]
        if kind is bool:
            return str(value).lower() in ("1", "true", "yes", "on")
        return kind(value)

    def get(self, key):
        return self.values[key]


def solve(configs):
    out = []
    for raw in configs:
        try:
            cfg = Config(raw)
            out.append({k: cfg.get(k) for k in sorted(Config.DEFAULTS)})
        except ConfigError as e:
            out.append({"error": f"unknown key {e.args[0]}"})
        except (TypeError, ValueError) as e:
            out.append({"error": "bad value"})
    return out
''', {"configs": [{"retries": "5", "verbose": "yes"}, {"colour": "red"}, {"timeout": "abc"}, {}]}),

    ("repr used in debug strings", r'''
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return f"Point(x={self.x!r}, y={self.y!r})"

    def __str__(self):
        return f"({self.x}, {self.y})"


def solve(pairs):
    pts = [Point(a, b) for a, b in pairs]
    return {"str": [str(p) for p in pts], "repr": [repr(p) for p in pts],
            "fstring": f"first={pts[0]} debug={pts[0]!r}",
            "list_repr": repr(pts[:2])}
''', {"pairs": [[1, 2], [3.5, "y"], [0, -1]]}),

    ("receipt parser class", r'''
import re


class Receipt:
    LINE = re.compile(r"^(?P<name>.+?)\s+(?P<qty>\d+)\s*x\s*(?P<price>\d+[.,]\d{2})$")

    def __init__(self, text):
        self.items = []
        self.unparsed = []
        for raw in text.strip().splitlines():
            line = raw.strip()
            m = self.LINE.match(line)
            if m:
                price = float(m.group("price").replace(",", "."))
                self.items.append((m.group("name"), int(m.group("qty")), price))
            elif line:
                self.unparsed.append(line)

    def total(self):
        return round(sum(q * p for n, q, p in self.items), 2)


def solve(text):
    r = Receipt(text)
    return {"items": [{"name": n, "qty": q, "price": p} for n, q, p in r.items],
            "total": r.total(), "unparsed": r.unparsed}
''', {"text": "MILK 1L   2 x 1,19\nBread   1 x 2.49\n\nthank you!\nEggs 10pk 1x3.10\n"}),

    ("queue simulation class", r'''
from collections import deque


class Counter:
    def __init__(self, name, speed):
        self.name = name
        self.speed = speed
        self.busy_until = 0
        self.served = []


def solve(arrivals, counters):
    desks = [Counter(c["name"], c["speed"]) for c in counters]
    waiting = deque(sorted(arrivals, key=lambda a: a["t"]))
    waits = {}
    while waiting:
        cust = waiting.popleft()
        desk = min(desks, key=lambda d: (max(d.busy_until, cust["t"]), d.name))
        start = max(desk.busy_until, cust["t"])
        desk.busy_until = start + cust["work"] / desk.speed
        desk.served.append(cust["id"])
        waits[cust["id"]] = start - cust["t"]
    return {"served": {d.name: d.served for d in desks}, "waits": waits}
''', {"arrivals": [{"id": "c1", "t": 0, "work": 4}, {"id": "c2", "t": 1, "work": 2},
                   {"id": "c3", "t": 1, "work": 6}, {"id": "c4", "t": 2, "work": 2}],
      "counters": [{"name": "A", "speed": 1}, {"name": "B", "speed": 2}]}),

    ("address normaliser class", r'''
import re


class Address:
    ABBREV = {"st": "Street", "rd": "Road", "ave": "Avenue", "ln": "Lane"}

    def __init__(self, raw):
        parts = [p.strip() for p in raw.split(",")]
        self.street = self.expand(parts[0])
        self.city = parts[1].title() if len(parts) > 1 else ""
        self.postcode = parts[2].upper().replace(" ", "") if len(parts) > 2 else ""

    def expand(self, street):
        words = street.split()
        if words and words[-1].lower().rstrip(".") in self.ABBREV:
            words[-1] = self.ABBREV[words[-1].lower().rstrip(".")]
        return " ".join(w if w[0].isdigit() else w.capitalize() for w in words)

    def is_complete(self):
        return bool(self.street and self.city and re.fullmatch(r"[A-Z0-9]{5,7}", self.postcode))

    def as_dict(self):
        return {"street": self.street, "city": self.city, "postcode": self.postcode,
                "complete": self.is_complete()}


def solve(addresses):
    return [Address(a).as_dict() for a in addresses]
''', {"addresses": ["12 baker st., london, nw1 6xe", "5 elm rd", "221b main ave, springfield, 12345"]}),

    ("event class sorted by date with eq", r'''
from datetime import date


class Event:
    def __init__(self, title, when):
        self.title = title
        self.when = date.fromisoformat(when)

    def __lt__(self, other):
        return (self.when, self.title) < (other.when, other.title)

    def __eq__(self, other):
        return (self.when, self.title) == (other.when, other.title)

    def __hash__(self):
        return hash((self.when, self.title))

    def __str__(self):
        return f"{self.when:%a %d %b}: {self.title}"


def solve(events):
    unique = sorted(set(Event(e["title"], e["date"]) for e in events))
    return [str(e) for e in unique]
''', {"events": [{"title": "standup", "date": "2024-03-04"}, {"title": "retro", "date": "2024-03-01"},
                 {"title": "standup", "date": "2024-03-04"}, {"title": "demo", "date": "2024-03-01"}]}),

    ("unit converter class with call", r'''
class Converter:
    FACTORS = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "mi": 1609.344}

    def __init__(self, target):
        if target not in self.FACTORS:
            raise ValueError(f"unknown unit {target}")
        self.target = target

    def __call__(self, value, unit):
        metres = value * self.FACTORS[unit]
        return round(metres / self.FACTORS[self.target], 4)


def solve(measurements, target):
    to_target = Converter(target)
    return [{"in": f"{v} {u}", "out": to_target(v, u)} for v, u in measurements]
''', {"measurements": [[1, "mi"], [12, "in"], [250, "cm"]], "target": "ft"}),

    ("table renderer class str", r'''
class Table:
    def __init__(self, headers):
        self.headers = headers
        self.rows = []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def widths(self):
        cols = [self.headers] + self.rows
        return [max(len(r[i]) for r in cols) for i in range(len(self.headers))]

    def __str__(self):
        w = self.widths()
        line = "+".join("-" * (n + 2) for n in w)
        fmt = lambda cells: "|".join(f" {c:<{n}} " for c, n in zip(cells, w))
        return "\n".join([fmt(self.headers), line] + [fmt(r) for r in self.rows])


def solve(people):
    t = Table(["name", "age", "city"])
    for p in people:
        t.add(p["name"], p["age"], p["city"])
    return str(t).splitlines()
''', {"people": [{"name": "Zoë", "age": 31, "city": "Ghent"}, {"name": "Al", "age": 5, "city": "Rotterdam"}]}),

    ("lru cache class with ordered dict", r'''
from collections import OrderedDict


class LRU:
    def __init__(self, capacity):
        self.capacity = capacity
        self.data = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        if key in self.data:
            self.data.move_to_end(key)
            self.hits = self.hits + 1
            return self.data[key]
        self.misses = self.misses + 1
        return None

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)


def solve(ops, capacity):
    cache = LRU(capacity)
    got = []
    for op in ops:
        if op[0] == "put":
            cache.put(op[1], op[2])
        else:
            got.append(cache.get(op[1]))
    return {"got": got, "keys": list(cache.data), "hits": cache.hits, "misses": cache.misses}
''', {"ops": [["put", "a", 1], ["put", "b", 2], ["get", "a"], ["put", "c", 3], ["get", "b"], ["get", "c"]],
      "capacity": 2}),

    ("polymorphic discount rules", r'''
class Rule:
    def applies(self, order):
        return True

    def discount(self, order):
        return 0.0


class PercentOff(Rule):
    def __init__(self, pct, min_total):
        self.pct = pct
        self.min_total = min_total

    def applies(self, order):
        return order["total"] >= self.min_total

    def discount(self, order):
        return order["total"] * self.pct / 100


class BuyXGetOne(Rule):
    def __init__(self, sku, x):
        self.sku = sku
        self.x = x

    def discount(self, order):
        line = order["lines"].get(self.sku)
        if not line:
            return 0.0
        return (line["qty"] // (self.x + 1)) * line["price"]


def solve(order):
    rules = [PercentOff(10, 50), BuyXGetOne("soap", 2), Rule()]
    best = max((r.discount(order) for r in rules if r.applies(order)), default=0.0)
    return {"discount": round(best, 2), "pay": round(order["total"] - best, 2)}
''', {"order": {"total": 60.0, "lines": {"soap": {"qty": 7, "price": 3.5}, "towel": {"qty": 1, "price": 35.5}}}}),

    ("countdown iterator class", r'''
class Countdown:
    def __init__(self, start, step=1):
        self.current = start
        self.step = step

    def __iter__(self):
        return self

    def __next__(self):
        if self.current <= 0:
            raise StopIteration
        value = self.current
        self.current = self.current - self.step
        return value


def solve(start, step):
    it = Countdown(start, step)
    first_two = [next(it), next(it)]
    rest = list(it)
    return {"first_two": first_two, "rest": rest, "after": next(it, "done")}
''', {"start": 10, "step": 3}),

    ("temperature class with conversions", r'''
class Temperature:
    def __init__(self, celsius):
        self.celsius = celsius

    @classmethod
    def parse(cls, text):
        text = text.strip().upper().replace("°", "")
        value, unit = float(text[:-1]), text[-1]
        if unit == "F":
            return cls((value - 32) * 5 / 9)
        if unit == "K":
            return cls(value - 273.15)
        if unit == "C":
            return cls(value)
        raise ValueError(f"unknown unit in {text}")

    @property
    def fahrenheit(self):
        return self.celsius * 9 / 5 + 32

    def __lt__(self, other):
        return self.celsius < other.celsius

    def __format__(self, spec):
        return f"{self.celsius:{spec}}°C"


def solve(readings):
    temps = []
    bad = []
    for r in readings:
        try:
            temps.append(Temperature.parse(r))
        except ValueError:
            bad.append(r)
    temps.sort()
    return {"sorted": [f"{t:.1f}" for t in temps], "max_f": round(temps[-1].fahrenheit, 1), "bad": bad}
''', {"readings": ["21.5C", "70°F", "300K", "hot", "-4 c"]}),

    ("interval class merge", r'''
class Interval:
    def __init__(self, start, end):
        if end < start:
            raise ValueError("end before start")
        self.start = start
        self.end = end

    def overlaps(self, other):
        return self.start <= other.end and other.start <= self.end

    def merge(self, other):
        return Interval(min(self.start, other.start), max(self.end, other.end))

    def __lt__(self, other):
        return (self.start, self.end) < (other.start, other.end)

    def __len__(self):
        return self.end - self.start


def solve(spans):
    merged = []
    for iv in sorted(Interval(a, b) for a, b in spans):
        if merged and merged[-1].overlaps(iv):
            merged[-1] = merged[-1].merge(iv)
        else:
            merged.append(iv)
    return {"merged": [[m.start, m.end] for m in merged], "covered": sum(len(m) for m in merged)}
''', {"spans": [[1, 3], [8, 10], [2, 6], [15, 18], [17, 20]]}),

    ("visitor over expression tree classes", r'''
class Num:
    def __init__(self, value):
        self.value = value

    def evaluate(self, env):
        return self.value

    def __str__(self):
        return str(self.value)


class Var:
    def __init__(self, name):
        self.name = name

    def evaluate(self, env):
        if self.name not in env:
            raise NameError(f"undefined variable {self.name}")
        return env[self.name]

    def __str__(self):
        return self.name


class BinOp:
    OPS = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "-": lambda a, b: a - b}

    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right

    def evaluate(self, env):
        return self.OPS[self.op](self.left.evaluate(env), self.right.evaluate(env))

    def __str__(self):
        return f"({self.left} {self.op} {self.right})"


def build(node):
    if isinstance(node, list):
        return BinOp(node[0], build(node[1]), build(node[2]))
    return Var(node) if isinstance(node, str) else Num(node)


def solve(tree, envs):
    expr = build(tree)
    results = []
    for env in envs:
        try:
            results.append(expr.evaluate(env))
        except NameError as e:
            results.append(str(e))
    return {"expr": str(expr), "results": results}
''', {"tree": ["+", ["*", "x", 2], ["-", "y", 1]], "envs": [{"x": 3, "y": 4}, {"x": 1}]}),

    ("csv row class with str field access", r'''
import csv
import io


class Row:
    def __init__(self, mapping):
        self.mapping = mapping

    def text(self, key, default=""):
        return (self.mapping.get(key) or default).strip()

    def number(self, key):
        raw = self.text(key, "0").replace(",", "")
        return float(raw) if raw else 0.0


def solve(table):
    rows = [Row(r) for r in csv.DictReader(io.StringIO(table))]
    totals = {}
    for r in rows:
        region = r.text("region", "unknown").lower()
        totals[region] = round(totals.get(region, 0.0) + r.number("sales"), 2)
    return dict(sorted(totals.items()))
''', {"table": "region,sales,rep\nNorth,\"1,200.50\",a\nsouth,300,b\nnorth,99.5,c\n,10,d\n"}),

    ("custom exception with retry budget", r'''
class TransientError(Exception):
    pass


class PermanentError(Exception):
    pass


class FakeService:
    def __init__(self, script):
        self.script = list(script)
        self.calls = 0

    def fetch(self):
        self.calls = self.calls + 1
        outcome = self.script.pop(0) if self.script else "ok"
        if outcome == "flaky":
            raise TransientError("try again")
        if outcome == "dead":
            raise PermanentError("gone")
        return outcome


def fetch_with_retry(service, attempts):
    last = None
    for i in range(attempts):
        try:
            return {"value": service.fetch(), "attempts": i + 1}
        except TransientError as e:
            last = str(e)
        except PermanentError as e:
            return {"error": str(e), "attempts": i + 1}
    return {"error": f"gave up: {last}", "attempts": attempts}


def solve(scripts, attempts):
    return [fetch_with_retry(FakeService(s), attempts) for s in scripts]
''', {"scripts": [["flaky", "flaky", "ok"], ["flaky", "dead"], ["flaky", "flaky", "flaky", "flaky"]], "attempts": 3}),
    # --- match statements: literal, sequence, mapping, class and guard patterns -------------------
    ("match on command words", r'''
def solve(commands):
    stack = []
    log = []
    for line in commands:
        match line.split():
            case ["push", value]:
                stack.append(int(value))
            case ["pop"]:
                log.append(stack.pop() if stack else None)
            case ["add"] | ["plus"]:
                b, a = stack.pop(), stack.pop()
                stack.append(a + b)
            case ["dup", *rest]:
                times = int(rest[0]) if rest else 1
                stack.extend([stack[-1]] * times)
            case []:
                continue
            case other:
                log.append(f"unknown: {' '.join(other)}")
    return {"stack": stack, "log": log}
''', {"commands": ["push 3", "push 4", "add", "dup 2", "", "pop", "jump 5", "plus"]}),

    ("match mapping event payloads", r'''
def solve(events):
    summary = []
    for ev in events:
        match ev:
            case {"type": "click", "x": x, "y": y}:
                summary.append(f"click at {x},{y}")
            case {"type": "key", "key": str(k)} if len(k) == 1:
                summary.append(f"typed {k}")
            case {"type": "key", "key": k}:
                summary.append(f"special key {k}")
            case {"type": "scroll", **rest}:
                summary.append(f"scroll {sorted(rest)}")
            case {"type": t}:
                summary.append(f"ignored {t}")
            case _:
                summary.append("malformed")
    return summary
''', {"events": [{"type": "click", "x": 3, "y": 9}, {"type": "key", "key": "a"}, {"type": "key", "key": "Enter"},
                 {"type": "scroll", "dy": -3, "dx": 0}, {"type": "resize"}, {"kind": "?"}]}),

    ("match class patterns on own classes", r'''
class Circle:
    def __init__(self, r):
        self.r = r


class Rect:
    def __init__(self, w, h):
        self.w = w
        self.h = h


class Triangle:
    def __init__(self, a, b, c):
        self.a, self.b, self.c = a, b, c


def area(shape):
    match shape:
        case Circle(r=0) | Rect(w=0) | Rect(h=0):
            return 0.0
        case Circle(r=r):
            return round(3.14159 * r * r, 3)
        case Rect(w=w, h=h) if w == h:
            return float(w * w)
        case Rect(w=w, h=h):
            return float(w * h)
        case Triangle(a=a, b=b, c=c):
            s = (a + b + c) / 2
            return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 3)
        case _:
            raise TypeError("not a shape")


def solve(specs):
    build = {"circle": Circle, "rect": Rect, "triangle": Triangle}
    return [area(build[s[0]](*s[1:])) for s in specs]
''', {"specs": [["circle", 2], ["rect", 3, 3], ["rect", 2, 5], ["circle", 0], ["triangle", 3, 4, 5]]}),

    ("match literal status codes", r'''
def classify(code):
    match code:
        case 200 | 201 | 204:
            return "ok"
        case 301 | 302 | 307 | 308:
            return "redirect"
        case 404:
            return "not found"
        case int(c) if 400 <= c < 500:
            return "client error"
        case int(c) if 500 <= c < 600:
            return "server error"
        case _:
            return "unknown"


def solve(codes):
    out = {}
    for c in codes:
        out.setdefault(classify(c), []).append(c)
    return out
''', {"codes": [200, 404, 418, 503, 302, 204, 99, 500]}),

    ("match json ast evaluation", r'''
def evaluate(node, env):
    match node:
        case {"op": "num", "value": v}:
            return v
        case {"op": "var", "name": name}:
            return env.get(name, 0)
        case {"op": "+" | "-" | "*" as op, "args": [left, right]}:
            a, b = evaluate(left, env), evaluate(right, env)
            return a + b if op == "+" else a - b if op == "-" else a * b
        case {"op": "sum", "args": [*items]}:
            return sum(evaluate(i, env) for i in items)
        case {"op": "if", "cond": c, "then": t, "else": e}:
            return evaluate(t, env) if evaluate(c, env) else evaluate(e, env)
        case _:
            raise ValueError(f"bad node: {node}")


def solve(program, env):
    return evaluate(program, env)
''', {"program": {"op": "if", "cond": {"op": "var", "name": "flag"},
                  "then": {"op": "sum", "args": [{"op": "num", "value": 1}, {"op": "var", "name": "x"},
                                                  {"op": "*", "args": [{"op": "num", "value": 2}, {"op": "var", "name": "x"}]}]},
                  "else": {"op": "num", "value": -1}},
      "env": {"flag": True, "x": 5}}),

    ("match tuple coordinates", r'''
def describe(point):
    match point:
        case (0, 0):
            return "origin"
        case (0, y):
            return f"on y-axis at {y}"
        case (x, 0):
            return f"on x-axis at {x}"
        case (x, y) if x == y:
            return f"on diagonal at {x}"
        case (x, y):
            return f"at {x},{y}"
        case (x, y, z):
            return f"3d point {x},{y},{z}"
        case _:
            return "not a point"


def solve(points):
    return [describe(tuple(p)) for p in points]
''', {"points": [[0, 0], [0, 5], [3, 0], [2, 2], [1, 7], [1, 2, 3], [1]]}),

    ("match transaction records with class kwd patterns", r'''
class Txn:
    def __init__(self, kind, amount, currency, tags):
        self.kind = kind
        self.amount = amount
        self.currency = currency
        self.tags = tags


def categorise(t):
    match t:
        case Txn(kind="refund", amount=a):
            return ("refunds", -a)
        case Txn(kind="sale", currency="EUR", amount=a) if a >= 1000:
            return ("large sales", a)
        case Txn(kind="sale", currency="EUR", amount=a):
            return ("sales", a)
        case Txn(kind="sale", tags=["test", *others]):
            return ("test sales", 0)
        case Txn(kind="sale", currency=cur):
            return (f"foreign sales ({cur})", t.amount)
        case Txn(kind=k):
            return (f"other: {k}", 0)


def solve(txns):
    totals = {}
    for raw in txns:
        cat, amount = categorise(Txn(raw["kind"], raw["amount"], raw["cur"], raw.get("tags", [])))
        totals[cat] = totals.get(cat, 0) + amount
    return totals
''', {"txns": [{"kind": "sale", "amount": 120, "cur": "EUR"}, {"kind": "sale", "amount": 1500, "cur": "EUR"},
               {"kind": "refund", "amount": 20, "cur": "EUR"}, {"kind": "sale", "amount": 9, "cur": "USD", "tags": ["test", "x"]},
               {"kind": "sale", "amount": 50, "cur": "GBP"}, {"kind": "chargeback", "amount": 5, "cur": "EUR"}]}),

    ("match on types of json values", r'''
def shape(value, depth=0):
    match value:
        case None:
            return "null"
        case bool():
            return "bool"
        case int() | float():
            return "number"
        case str() if value.strip() == "":
            return "blank string"
        case str():
            return "string"
        case []:
            return "empty list"
        case [first, *rest] if all(shape(r) == shape(first) for r in rest):
            return f"list of {shape(first)}"
        case list():
            return "mixed list"
        case dict() if not value:
            return "empty object"
        case dict():
            return "{" + ", ".join(f"{k}: {shape(v)}" for k, v in sorted(value.items())) + "}"


def solve(doc):
    return {k: shape(v) for k, v in doc.items()}
''', {"doc": {"a": None, "b": True, "c": 3.5, "d": "  ", "e": "x", "f": [], "g": [1, 2.0], "h": [1, "x"],
              "i": {}, "j": {"z": [{"q": 1}], "y": False}}}),

    ("match url routes", r'''
def route(path, method):
    parts = [p for p in path.strip("/").split("/") if p]
    match (method, parts):
        case ("GET", []):
            return "home"
        case ("GET", ["users"]):
            return "list users"
        case ("GET", ["users", uid]) if uid.isdigit():
            return f"show user {int(uid)}"
        case ("POST", ["users"]):
            return "create user"
        case ("DELETE", ["users", uid]):
            return f"delete user {uid}"
        case ("GET", ["files", *rest]) if rest:
            return "file " + "/".join(rest)
        case (m, _) if m not in ("GET", "POST", "DELETE"):
            return "405"
        case _:
            return "404"


def solve(requests):
    return [route(r["path"], r["method"]) for r in requests]
''', {"requests": [{"path": "/", "method": "GET"}, {"path": "/users/42", "method": "GET"}, {"path": "/users/abc", "method": "GET"},
                   {"path": "/users", "method": "POST"}, {"path": "/files/a/b.txt", "method": "GET"},
                   {"path": "/users/7", "method": "PATCH"}, {"path": "/users/7", "method": "DELETE"}]}),

    ("match config lines with regex", r'''
import re


def solve(text):
    settings = {}
    problems = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        match re.split(r"\s*=\s*", line, maxsplit=1):
            case [""]:
                pass
            case [key, value] if value.lower() in ("true", "false"):
                settings[key] = value.lower() == "true"
            case [key, value] if re.fullmatch(r"-?\d+", value):
                settings[key] = int(value)
            case [key, value]:
                settings[key] = value.strip('"')
            case [word]:
                problems.append(f"line {n}: no '=' in {word!r}")
    return {"settings": settings, "problems": problems}
''', {"text": "# app config\nname = \"demo\"\ndebug=true\nworkers = 4 # per cpu\n\noops\nratio = 0.5\n"}),

    ("match shopping cart actions with class and mapping", r'''
class Add:
    def __init__(self, sku, qty):
        self.sku = sku
        self.qty = qty


class Remove:
    def __init__(self, sku):
        self.sku = sku


class Clear:
    def __init__(self):
        self.reason = "user"


def parse(raw):
    match raw:
        case {"add": sku, "qty": int(q)}:
            return Add(sku, q)
        case {"add": sku}:
            return Add(sku, 1)
        case {"remove": sku}:
            return Remove(sku)
        case "clear":
            return Clear()
    raise ValueError(f"cannot parse {raw!r}")


def solve(actions):
    cart = {}
    errors = []
    for raw in actions:
        try:
            action = parse(raw)
        except ValueError as e:
            errors.append(str(e))
            continue
        match action:
            case Add(sku=s, qty=q) if q > 0:
                cart[s] = cart.get(s, 0) + q
            case Add():
                errors.append("non-positive quantity")
            case Remove(sku=s):
                cart.pop(s, None)
            case Clear():
                cart = {}
    return {"cart": cart, "errors": errors}
''', {"actions": [{"add": "tea", "qty": 2}, {"add": "cup"}, "clear", {"add": "pot", "qty": 1}, {"add": "tea", "qty": 0},
                  {"remove": "nothing"}, {"add": "tea", "qty": 3}, 42]}),

    ("match nested api responses", r'''
def extract(resp):
    match resp:
        case {"status": "ok", "data": {"items": [*items], "next": None}}:
            return {"items": len(items), "more": False}
        case {"status": "ok", "data": {"items": [*items], "next": str(cursor)}}:
            return {"items": len(items), "more": True, "cursor": cursor}
        case {"status": "error", "error": {"code": int(code), "message": msg}} if code >= 500:
            return {"retry": True, "why": msg}
        case {"status": "error", "error": {"message": msg}}:
            return {"retry": False, "why": msg}
        case _:
            return {"unexpected": True}


def solve(responses):
    return [extract(r) for r in responses]
''', {"responses": [{"status": "ok", "data": {"items": [1, 2, 3], "next": None}},
                    {"status": "ok", "data": {"items": [4], "next": "abc"}},
                    {"status": "error", "error": {"code": 503, "message": "busy"}},
                    {"status": "error", "error": {"code": 400, "message": "bad"}}, {"status": "weird"}]}),

    ("match star patterns on csv rows", r'''
def solve(rows):
    out = []
    for row in rows:
        match row:
            case [name, *scores] if scores and all(isinstance(s, (int, float)) for s in scores):
                out.append({"name": name, "avg": round(sum(scores) / len(scores), 2)})
            case [name]:
                out.append({"name": name, "avg": None})
            case [name, *mixed]:
                nums = [m for m in mixed if isinstance(m, (int, float))]
                out.append({"name": name, "avg": round(sum(nums) / len(nums), 2) if nums else None,
                            "skipped": len(mixed) - len(nums)})
    return out
''', {"rows": [["ann", 80, 90.5, 70], ["bob"], ["cy", 50, "absent", 60], ["di", "n/a"]]}),

    ("match token stream for units", r'''
import re


def to_grams(text):
    tokens = re.findall(r"\d+(?:\.\d+)?|[a-zA-Z]+", text.lower())
    match tokens:
        case [num, ("g" | "gram" | "grams")]:
            return float(num)
        case [num, ("kg" | "kilo" | "kilos")]:
            return float(num) * 1000
        case [num, ("lb" | "lbs" | "pound" | "pounds")]:
            return round(float(num) * 453.592, 1)
        case [num, "oz"]:
            return round(float(num) * 28.3495, 1)
        case [num]:
            return float(num)
        case [lbs, ("lb" | "lbs"), oz, "oz"]:
            return round(float(lbs) * 453.592 + float(oz) * 28.3495, 1)
        case _:
            return None


def solve(weights):
    return {w: to_grams(w) for w in weights}
''', {"weights": ["250 g", "1.5kg", "2 lbs", "3 oz", "12", "1 lb 4 oz", "a handful"]}),

    ("match with dataclass-like value objects", r'''
class Money:
    def __init__(self, amount, currency):
        self.amount = amount
        self.currency = currency


class Percent:
    def __init__(self, value):
        self.value = value


def apply(price, adjustment):
    match adjustment:
        case Money(currency=c, amount=a) if c == price.currency:
            return Money(round(price.amount + a, 2), c)
        case Money():
            raise ValueError("currency mismatch")
        case Percent(value=v) if -100 <= v <= 100:
            return Money(round(price.amount * (1 + v / 100), 2), price.currency)
        case Percent():
            raise ValueError("percent out of range")


def solve(price, adjustments):
    p = Money(price[0], price[1])
    rejected = 0
    for adj in adjustments:
        obj = Percent(adj) if isinstance(adj, (int, float)) else Money(adj[0], adj[1])
        try:
            p = apply(p, obj)
        except ValueError:
            rejected += 1
    return {"amount": p.amount, "currency": p.currency, "rejected": rejected}
''', {"price": [100.0, "EUR"], "adjustments": [-10, [5, "EUR"], [3, "USD"], 250, 20]}),

    ("match log levels with guards", r'''
import re


def solve(log):
    counts = {"error": 0, "warning": 0, "info": 0, "other": 0}
    slow = []
    for line in log.splitlines():
        m = re.match(r"(\S+)\s+\[(\w+)\]\s+(.*)", line)
        if not m:
            continue
        match m.group(2).upper(), m.group(3).split():
            case ("ERROR" | "CRITICAL", words):
                counts["error"] += 1
            case ("WARN" | "WARNING", ["slow", "request", ms, *rest]) if ms.rstrip("ms").isdigit():
                counts["warning"] += 1
                slow.append(int(ms.rstrip("ms")))
            case ("WARN" | "WARNING", words):
                counts["warning"] += 1
            case ("INFO" | "DEBUG", words):
                counts["info"] += 1
            case _:
                counts["other"] += 1
    return {"counts": counts, "slow_ms": slow}
''', {"log": "10:01 [INFO] started\n10:02 [warn] slow request 830ms /api\n10:03 [ERROR] db down\n"
             "10:04 [WARNING] disk 91%\n10:05 [TRACE] x\nbadline\n10:06 [critical] oom\n"}),
    # --- generators, closures with nonlocal, walrus -----------------------------------------------
    ("generator pipeline over log lines", r'''
def read_lines(text):
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def parse(lines):
    for line in lines:
        ts, level, *msg = line.split(" ", 2)
        yield {"ts": ts, "level": level, "msg": msg[0] if msg else ""}


def only(level, records):
    return (r for r in records if r["level"] == level)


def solve(text):
    errors = list(only("ERROR", parse(read_lines(text))))
    return {"count": len(errors), "messages": [e["msg"] for e in errors]}
''', {"text": "# header\n09:00 INFO boot\n09:01 ERROR disk full\n\n09:02 WARN hot\n09:03 ERROR fan failed\n09:04 ERROR\n"}),

    ("generator with send-free chunking", r'''
def chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def solve(ids, size):
    batches = list(chunks(ids, size))
    return {"batches": batches, "sizes": [len(b) for b in batches]}
''', {"ids": list(range(1, 12)), "size": 4}),

    ("yield from nested structure flatten", r'''
def flatten(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def solve(doc):
    return dict(flatten(doc))
''', {"doc": {"user": {"name": "Ann", "tags": ["a", "b"], "address": {"city": "Oslo", "zip": None}}, "ok": True}}),

    ("infinite generator with islice", r'''
import itertools


def fibonacci():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


def solve(n, limit):
    first = list(itertools.islice(fibonacci(), n))
    below = list(itertools.takewhile(lambda x: x < limit, fibonacci()))
    evens = [x for x in itertools.islice(fibonacci(), 30) if x % 2 == 0][:5]
    return {"first": first, "below_limit": below, "first_evens": evens}
''', {"n": 10, "limit": 100}),

    ("generator expression aggregations", r'''
def solve(orders):
    total = sum(o["qty"] * o["price"] for o in orders)
    biggest = max((o for o in orders), key=lambda o: o["qty"] * o["price"])
    any_free = any(o["price"] == 0 for o in orders)
    all_shipped = all(o.get("shipped") for o in orders)
    skus = sorted({o["sku"] for o in orders})
    return {"total": round(total, 2), "biggest": biggest["sku"], "any_free": any_free,
            "all_shipped": all_shipped, "skus": skus}
''', {"orders": [{"sku": "a", "qty": 2, "price": 3.5, "shipped": True}, {"sku": "b", "qty": 1, "price": 0},
                 {"sku": "a", "qty": 10, "price": 1.25, "shipped": True}]}),

    ("sliding window generator", r'''
from collections import deque


def windows(values, size):
    window = deque(maxlen=size)
    for v in values:
        window.append(v)
        if len(window) == size:
            yield list(window)


def solve(prices, size):
    avgs = [round(sum(w) / size, 2) for w in windows(prices, size)]
    return {"moving_average": avgs, "max_window": max(windows(prices, size), key=sum)}
''', {"prices": [10, 11, 12, 9, 8, 15, 16, 14], "size": 3}),

    ("generator parsing key value blocks", r'''
def blocks(text):
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                yield current
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip().lower()] = value.strip()
    if current:
        yield current


def solve(text):
    return [b for b in blocks(text) if "name" in b]
''', {"text": "Name: Ann\nRole: dev\n\n\nName: Bob\nRole: ops\nTeam : blue\n\nnote without colon\n\nRole: ghost\n"}),

    ("generator return value via yield from", r'''
def running_total(values):
    total = 0
    for v in values:
        total += v
        yield total
    return total


def collect(values):
    final = yield from running_total(values)
    yield ("final", final)


def solve(values):
    out = list(collect(values))
    return {"running": out[:-1], "final": out[-1][1]}
''', {"values": [5, -2, 10, 7]}),

    ("generator of dates between", r'''
from datetime import date, timedelta


def daterange(start, end, step_days=1):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=step_days)


def solve(start, end):
    s, e = date.fromisoformat(start), date.fromisoformat(end)
    weekdays = [d.isoformat() for d in daterange(s, e) if d.weekday() < 5]
    weekly = [f"{d:%d/%m}" for d in daterange(s, e, 7)]
    return {"weekdays": weekdays, "weekly": weekly}
''', {"start": "2024-02-26", "end": "2024-03-10"}),

    ("generator dedupe preserving order", r'''
def unique_by(items, key):
    seen = set()
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            yield item


def solve(contacts):
    norm = lambda c: c["email"].strip().lower()
    kept = list(unique_by(contacts, norm))
    return {"kept": [c["name"] for c in kept], "dropped": len(contacts) - len(kept)}
''', {"contacts": [{"name": "Ann", "email": "ann@x.io"}, {"name": "Ann B", "email": " ANN@x.io"},
                   {"name": "Bob", "email": "bob@y.io"}, {"name": "Cy", "email": "cy@z.io"}, {"name": "Bobby", "email": "Bob@Y.io"}]}),

    ("generator close and next default", r'''
def tokens(text):
    for word in text.split():
        yield word.strip(".,!?").lower()


def solve(text, stop):
    gen = tokens(text)
    taken = []
    while (word := next(gen, None)) is not None:
        if word == stop:
            break
        taken.append(word)
    remaining = sum(1 for w in gen)
    return {"taken": taken, "remaining": remaining}
''', {"text": "The quick brown fox. Jumps over, the lazy dog!", "stop": "jumps"}),

    ("closure counter with nonlocal", r'''
def make_counter(start=0, step=1):
    count = start

    def increment():
        nonlocal count
        count += step
        return count

    def reset():
        nonlocal count
        count = start

    return increment, reset


def solve(steps):
    inc, reset = make_counter(10, 5)
    seen = [inc() for i in range(steps)]
    reset()
    after = inc()
    return {"seen": seen, "after_reset": after}
''', {"steps": 3}),

    ("closure accumulating averages", r'''
def make_averager():
    total = 0.0
    count = 0

    def add(value):
        nonlocal total, count
        total += value
        count += 1
        return round(total / count, 3)

    return add


def solve(series):
    out = {}
    for name, values in series.items():
        avg = make_averager()
        out[name] = [avg(v) for v in values]
    return out
''', {"series": {"temp": [20, 22, 21, 25], "hum": [0.5, 0.4]}}),

    ("closure memoising with nonlocal hits", r'''
def memoize(fn):
    cache = {}
    hits = 0

    def wrapper(n):
        nonlocal hits
        if n in cache:
            hits += 1
            return cache[n]
        result = fn(n)
        cache[n] = result
        return result

    def stats():
        return {"size": len(cache), "hits": hits}

    return wrapper, stats


def solve(n):
    def ways(k):
        if k <= 1:
            return 1
        return climb(k - 1) + climb(k - 2)

    climb, stats = memoize(ways)
    return {"ways": climb(n), "stats": stats()}
''', {"n": 30}),

    ("closure id generator with prefixes", r'''
def id_factory(prefix, width):
    n = 0

    def next_id():
        nonlocal n
        n += 1
        return f"{prefix}-{n:0{width}d}"

    return next_id


def solve(records):
    makers = {}
    out = []
    for r in records:
        kind = r["kind"]
        if kind not in makers:
            makers[kind] = id_factory(kind[:3].upper(), 4)
        out.append({**r, "id": makers[kind]()})
    return out
''', {"records": [{"kind": "invoice"}, {"kind": "order"}, {"kind": "invoice"}, {"kind": "invoice"}]}),

    ("closure event emitter with handlers", r'''
def make_bus():
    handlers = {}
    delivered = 0

    def on(event, fn):
        handlers.setdefault(event, []).append(fn)

    def emit(event, payload):
        nonlocal delivered
        results = []
        for fn in handlers.get(event, []):
            results.append(fn(payload))
            delivered += 1
        return results

    def count():
        return delivered

    return on, emit, count


def solve(orders):
    on, emit, count = make_bus()
    on("order", lambda o: f"email {o['customer']}")
    on("order", lambda o: f"reserve {o['qty']} x {o['sku']}")
    on("refund", lambda o: f"refund {o['customer']}")
    log = []
    for o in orders:
        log.extend(emit(o["event"], o))
    return {"log": log, "delivered": count()}
''', {"orders": [{"event": "order", "customer": "ann", "sku": "x1", "qty": 2}, {"event": "cancel", "customer": "bob"},
                 {"event": "refund", "customer": "cy"}]}),

    ("closure rate limiter with nonlocal window", r'''
def make_limiter(max_calls, per_seconds):
    window_start = None
    calls = 0

    def allow(t):
        nonlocal window_start, calls
        if window_start is None or t - window_start >= per_seconds:
            window_start = t
            calls = 0
        if calls < max_calls:
            calls += 1
            return True
        return False

    return allow


def solve(timestamps):
    allow = make_limiter(3, 10)
    return [t for t in timestamps if allow(t)]
''', {"timestamps": [0, 1, 2, 3, 4, 11, 12, 13, 14, 25]}),

    ("walrus in comprehension filtering", r'''
import re


def solve(lines):
    pattern = re.compile(r"order #(\d+) total (\d+\.\d\d)")
    found = [(int(m.group(1)), float(m.group(2))) for line in lines if (m := pattern.search(line))]
    return {"orders": [list(f) for f in found], "sum": round(sum(t for i, t in found), 2)}
''', {"lines": ["re: order #12 total 19.99", "hello", "order #7 total 5.00 (paid)", "order #x total 1.00"]}),

    ("walrus reading chunks from stringio", r'''
import io


def solve(text, size):
    buf = io.StringIO(text)
    chunks = []
    while chunk := buf.read(size):
        chunks.append(chunk)
    lines = []
    buf.seek(0)
    while (line := buf.readline()):
        lines.append(len(line.rstrip("\n")))
    return {"chunks": chunks, "line_lengths": lines}
''', {"text": "alpha\nbeta\ngamma delta\n", "size": 7}),

    ("walrus with running threshold", r'''
def solve(readings, threshold):
    alerts = []
    total = 0
    for i, r in enumerate(readings):
        if (total := total + r) > threshold:
            alerts.append({"at": i, "total": total})
            total = 0
    if (n := len(alerts)) > 2:
        summary = f"{n} alerts: noisy"
    else:
        summary = f"{n} alerts"
    return {"alerts": alerts, "summary": summary}
''', {"readings": [3, 4, 5, 1, 9, 2, 2, 8, 1], "threshold": 10}),

    ("walrus in while loop parsing", r'''
def solve(tokens):
    out = []
    i = 0
    while i < len(tokens) and (tok := tokens[i]) != "END":
        if (eq := tok.find("=")) > 0:
            out.append({"key": tok[:eq], "value": tok[eq + 1:]})
        i += 1
    return {"pairs": out, "stopped_at": i}
''', {"tokens": ["a=1", "junk", "b=two", "=x", "END", "c=3"]}),

    ("walrus in any and dict get", r'''
def solve(users, wanted):
    index = {u["id"]: u for u in users}
    found = []
    for uid in wanted:
        if (u := index.get(uid)) and u.get("active"):
            found.append(u["name"])
    has_admin = any((role := u.get("role")) == "admin" for u in users)
    return {"found": found, "has_admin": has_admin, "last_role_checked": role}
''', {"users": [{"id": 1, "name": "ann", "active": True, "role": "user"},
                {"id": 2, "name": "bob", "active": False, "role": "admin"},
                {"id": 3, "name": "cy", "active": True}], "wanted": [3, 2, 9, 1]}),
    # --- try/except/else/finally ------------------------------------------------------------------
    ("try except else finally counters", r'''
def solve(values):
    parsed, failed, attempts = [], [], 0
    for v in values:
        try:
            attempts += 1
            n = int(v)
        except (TypeError, ValueError):
            failed.append(v)
        else:
            parsed.append(n)
        finally:
            last_seen = v
    return {"parsed": parsed, "failed": failed, "attempts": attempts, "last": last_seen}
''', {"values": ["1", "  42 ", "3.5", None, "-7", "1e3"]}),

    ("nested try with re-raise and cleanup", r'''
class StepFailed(Exception):
    pass


def run_steps(steps):
    done = []
    cleaned = []
    try:
        for s in steps:
            try:
                if s.startswith("fail"):
                    raise RuntimeError(s)
                done.append(s)
            except RuntimeError as e:
                raise StepFailed(f"step {len(done) + 1} failed: {e}") from e
            finally:
                cleaned.append(s)
    except StepFailed as e:
        return {"ok": False, "error": str(e), "done": done, "cleaned": cleaned}
    return {"ok": True, "done": done, "cleaned": cleaned}


def solve(pipelines):
    return [run_steps(p) for p in pipelines]
''', {"pipelines": [["fetch", "parse", "store"], ["fetch", "fail-parse", "store"]]}),

    ("safe division table with zero handling", r'''
def solve(pairs):
    rows = []
    for a, b in pairs:
        try:
            q = a / b
        except ZeroDivisionError:
            rows.append({"a": a, "b": b, "result": None, "note": "division by zero"})
        except TypeError as e:
            rows.append({"a": a, "b": b, "result": None, "note": "not numbers"})
        else:
            rows.append({"a": a, "b": b, "result": round(q, 4), "note": ""})
    return rows
''', {"pairs": [[1, 3], [5, 0], ["x", 2], [-9, 4], [0, 0.5]]}),

    ("key error lookup with fallback chain", r'''
def lookup(record, *paths):
    for path in paths:
        node = record
        try:
            for key in path.split("."):
                node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            continue
        return node
    return None


def solve(records):
    return [
        {"name": lookup(r, "name", "profile.name", "names.0"),
         "city": lookup(r, "address.city", "profile.address.city", "city")}
        for r in records
    ]
''', {"records": [{"name": "Ann", "address": {"city": "Oslo"}}, {"profile": {"name": "Bob", "address": {"city": "Rome"}}},
                  {"names": ["Cy", "C."], "city": "Lima"}, {"names": []}]}),

    ("assertion errors in validation", r'''
def check_invoice(inv):
    assert inv.get("number"), "missing number"
    assert inv["lines"], "no lines"
    total = round(sum(l["qty"] * l["price"] for l in inv["lines"]), 2)
    assert abs(total - inv["total"]) < 0.005, f"total {inv['total']} != {total}"
    return total


def solve(invoices):
    report = {}
    for inv in invoices:
        key = inv.get("number") or "?"
        try:
            check_invoice(inv)
            report[key] = "ok"
        except AssertionError as e:
            report[key] = f"invalid: {e}"
    return report
''', {"invoices": [{"number": "A1", "lines": [{"qty": 2, "price": 1.5}], "total": 3.0},
                   {"number": "A2", "lines": [{"qty": 1, "price": 9.99}], "total": 10.0},
                   {"number": "", "lines": [], "total": 0}, {"number": "A3", "lines": [], "total": 0}]}),

    ("exception chaining messages", r'''
import json


class ConfigError(Exception):
    pass


def load(text):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"invalid json at line {e.lineno} col {e.colno}") from e
    if not isinstance(data, dict):
        raise ConfigError("top level must be an object")
    try:
        return {"port": int(data["port"]), "host": data.get("host", "localhost")}
    except KeyError as e:
        raise ConfigError(f"missing key {e}") from None
    except ValueError:
        raise ConfigError("port is not a number")


def solve(texts):
    out = []
    for t in texts:
        try:
            out.append(load(t))
        except ConfigError as e:
            out.append({"error": str(e)})
    return out
''', {"texts": ['{"port": "8080"}', '{"port": 1,', '[1, 2]', '{"host": "x"}', '{"port": "eighty"}']}),

    ("finally runs on early return", r'''
def process(batch, log):
    log.append(f"open {batch['id']}")
    try:
        if not batch["items"]:
            return "empty"
        for item in batch["items"]:
            if item < 0:
                return f"rejected {item}"
        return f"sum {sum(batch['items'])}"
    finally:
        log.append(f"close {batch['id']}")


def solve(batches):
    log = []
    results = [process(b, log) for b in batches]
    return {"results": results, "log": log}
''', {"batches": [{"id": 1, "items": [1, 2]}, {"id": 2, "items": []}, {"id": 3, "items": [4, -1, 5]}]}),

    ("unicode errors handled when decoding", r'''
def solve(hex_blobs):
    out = []
    for h in hex_blobs:
        raw = bytes.fromhex(h)
        try:
            text = raw.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError as e:
            text = raw.decode("cp1252", errors="replace")
            enc = f"cp1252 (utf-8 failed at byte {e.start})"
        out.append({"text": text, "encoding": enc})
    return out
''', {"hex_blobs": ["68c3a96c6c6f", "63616698", "e282ac3130", "4d fc 6c 6c 65 72"]}),

    # --- comprehensions ---------------------------------------------------------------------------
    ("dict comprehension rename and drop keys", r'''
def solve(records, rename, drop):
    return [
        {rename.get(k, k): v for k, v in r.items() if k not in drop}
        for r in records
    ]
''', {"records": [{"fname": "Ann", "lname": "Lee", "ssn": "x", "age": 30}, {"fname": "Bo", "ssn": "y"}],
      "rename": {"fname": "first_name", "lname": "last_name"}, "drop": ["ssn"]}),

    ("nested list comprehension transpose and flatten", r'''
def solve(matrix):
    transposed = [[row[i] for row in matrix] for i in range(len(matrix[0]))]
    flat = [x for row in matrix for x in row]
    evens_by_row = [[x for x in row if x % 2 == 0] for row in matrix]
    diagonal = [matrix[i][i] for i in range(min(len(matrix), len(matrix[0])))]
    return {"transposed": transposed, "flat": flat, "evens": evens_by_row, "diagonal": diagonal}
''', {"matrix": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]}),

    ("set comprehension tags", r'''
def solve(posts):
    all_tags = {t.lower().strip("#") for p in posts for t in p["tags"]}
    shared = set.intersection(*[{t.lower().strip("#") for t in p["tags"]} for p in posts])
    authors_by_tag = {tag: sorted({p["author"] for p in posts if tag in {t.lower().strip("#") for t in p["tags"]}})
                      for tag in sorted(all_tags)}
    return {"tags": sorted(all_tags), "shared": sorted(shared), "authors": authors_by_tag}
''', {"posts": [{"author": "ann", "tags": ["#Python", "data"]}, {"author": "bob", "tags": ["python", "#Web"]},
                {"author": "ann", "tags": ["PYTHON", "Data"]}]}),

    ("dict comprehension invert with grouping", r'''
def solve(owners):
    inverted = {}
    for person, items in owners.items():
        for item in items:
            inverted.setdefault(item, []).append(person)
    unique = {item: people[0] for item, people in inverted.items() if len(people) == 1}
    counts = {person: len(items) for person, items in sorted(owners.items(), key=lambda kv: -len(kv[1]))}
    return {"inverted": {k: sorted(v) for k, v in sorted(inverted.items())}, "unique": unique, "counts": counts}
''', {"owners": {"ann": ["car", "bike"], "bob": ["bike", "boat", "kayak"], "cy": ["car"]}}),

    ("comprehension with conditional expression", r'''
def solve(scores):
    grades = [
        "A" if s >= 90 else "B" if s >= 80 else "C" if s >= 70 else "F"
        for s in scores
    ]
    curved = [min(100, s + 5) if s < 95 else s for s in scores]
    buckets = {g: [s for s, gg in zip(scores, grades) if gg == g] for g in "ABCF"}
    return {"grades": grades, "curved": curved, "buckets": {g: b for g, b in buckets.items() if b}}
''', {"scores": [95, 82, 67, 74, 90, 55, 88]}),

    ("comprehension building lookup tables", r'''
def solve(products, orders):
    price = {p["sku"]: p["price"] for p in products}
    names = {p["sku"]: p["name"] for p in products}
    lines = [
        {"order": o["id"], "item": names.get(sku, "?"), "cost": round(price.get(sku, 0) * qty, 2)}
        for o in orders
        for sku, qty in o["items"].items()
    ]
    per_order = {o["id"]: round(sum(l["cost"] for l in lines if l["order"] == o["id"]), 2) for o in orders}
    return {"lines": lines, "per_order": per_order}
''', {"products": [{"sku": "p1", "name": "pen", "price": 1.2}, {"sku": "p2", "name": "pad", "price": 3.45}],
      "orders": [{"id": "o1", "items": {"p1": 3, "p2": 1}}, {"id": "o2", "items": {"p9": 2}}]}),

    ("matrix multiplication comprehension", r'''
def solve(a, b):
    if len(a[0]) != len(b):
        return {"error": "shape mismatch"}
    product = [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]
    identity = [[1 if i == j else 0 for j in range(len(a))] for i in range(len(a))]
    return {"product": product, "identity": identity}
''', {"a": [[1, 2, 3], [4, 5, 6]], "b": [[7, 8], [9, 10], [11, 12]]}),

    # --- f-strings and format specs ---------------------------------------------------------------
    ("fstring invoice lines aligned", r'''
def solve(lines, vat_rate):
    out = []
    subtotal = 0
    for l in lines:
        amount = l["qty"] * l["price"]
        subtotal += amount
        out.append(f"{l['name'][:18]:<18} {l['qty']:>4} x {l['price']:>8.2f} = {amount:>10.2f}")
    vat = subtotal * vat_rate
    out.append(f"{'Subtotal':<34}{subtotal:>11.2f}")
    out.append(f"{'VAT ' + format(vat_rate, '.0%'):<34}{vat:>11.2f}")
    out.append(f"{'TOTAL':<34}{subtotal + vat:>11,.2f}")
    return out
''', {"lines": [{"name": "Widget", "qty": 12, "price": 3.5}, {"name": "Extra long gadget name here", "qty": 1, "price": 1299.0}],
      "vat_rate": 0.21}),

    ("fstring thousands and percent", r'''
def solve(stats):
    total = sum(s["visits"] for s in stats)
    rows = []
    for s in stats:
        share = s["visits"] / total
        rows.append(f"{s['page']:<10}|{s['visits']:>10,}|{share:>8.1%}|{s['bounce']:06.3f}")
    rows.append(f"{'total':<10}|{total:>10,}|{1:>8.1%}|")
    return rows
''', {"stats": [{"page": "/", "visits": 1234567, "bounce": 0.4123}, {"page": "/about", "visits": 8910, "bounce": 0.75},
                {"page": "/blog", "visits": 45000, "bounce": 0.5}]}),

    ("fstring dates and padding", r'''
from datetime import date, datetime


def solve(entries):
    out = []
    for e in entries:
        d = datetime.strptime(e["when"], "%Y-%m-%dT%H:%M")
        out.append(f"{d:%Y-%m-%d} {d:%H:%M} | {d.strftime('%A'):<9} | #{e['n']:05d} | {e['n']:#x} | {e['n']:b}")
    today = date(2024, 1, 5)
    out.append(f"{today:%d %B %Y} is day {today.timetuple().tm_yday:03d}")
    return out
''', {"entries": [{"when": "2024-03-09T08:05", "n": 42}, {"when": "2023-12-31T23:59", "n": 255}]}),

    ("fstring centered banner and signs", r'''
def solve(title, deltas):
    width = max(len(title) + 4, 20)
    lines = [f"{'':=^{width}}", f"{title:^{width}}", f"{'':=^{width}}"]
    for name, d in deltas:
        lines.append(f"{name:.<12}{d:>+8.2f}")
    lines.append(f"{'net':.<12}{sum(d for n, d in deltas):>+8.2f}")
    return lines
''', {"title": "Weekly P&L", "deltas": [["sales", 1520.5], ["refunds", -99.99], ["fees", -12.0]]}),

    ("fstring nested format specs from data", r'''
def solve(columns, rows):
    header = " ".join(f"{c['name']:{c['align']}{c['width']}}" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r[c["name"]]
            spec = f"{c['align']}{c['width']}" + (f".{c['prec']}f" if "prec" in c else "")
            cells.append(f"{v:{spec}}")
        body.append(" ".join(cells))
    return [header] + body
''', {"columns": [{"name": "item", "align": "<", "width": 8}, {"name": "qty", "align": ">", "width": 5},
                  {"name": "price", "align": ">", "width": 9, "prec": 2}],
      "rows": [{"item": "apple", "qty": 3, "price": 0.5}, {"item": "melon", "qty": 12, "price": 2.125}]}),

    ("fstring debug specifier and conversions", r'''
def solve(width, height, label):
    area = width * height
    return [f"{width=}", f"{area=:.1f}", f"{label!r:>12}", f"{label!s:*<10}", f"{label!a}",
            f"{width / height:.3e}", f"{area:g}", f"{-area:=+10.2f}"]
''', {"width": 12.5, "height": 4, "label": "naïve"}),

    ("format method with named fields", r'''
def solve(template_rows, people):
    out = []
    for p in people:
        for t in template_rows:
            out.append(t.format(**p))
    out.append("{0:>6}|{1:<6}|{0:^6}".format("ab", "cd"))
    out.append("{:,.3f}".format(1234567.891))
    out.append("{name} has {n:03d} items".format_map({"name": "box", "n": 7}))
    return out
''', {"template_rows": ["Dear {first} {last},", "Your balance is {balance:,.2f} {currency}."],
      "people": [{"first": "Ann", "last": "Lee", "balance": 10234.5, "currency": "EUR"}]}),

    ("percent-style formatting legacy", r'''
def solve(rows):
    out = []
    for r in rows:
        out.append("%-10s %5d %8.2f %s" % (r["name"], r["qty"], r["price"], "yes" if r["paid"] else "no"))
    out.append("%(name)s owes %(amount).2f" % {"name": "Bob", "amount": 12.5})
    out.append("%05.1f%%" % 42.123)
    return out
''', {"rows": [{"name": "ann", "qty": 3, "price": 9.5, "paid": True}, {"name": "bartholomew", "qty": 12345, "price": 0.333, "paid": False}]}),

    # --- recursion --------------------------------------------------------------------------------
    ("recursive category tree totals", r'''
def total(node):
    own = node.get("amount", 0)
    return own + sum(total(c) for c in node.get("children", []))


def paths(node, prefix=()):
    here = prefix + (node["name"],)
    yield " / ".join(here), total(node)
    for c in node.get("children", []):
        yield from paths(c, here)


def solve(tree):
    return dict(paths(tree))
''', {"tree": {"name": "all", "children": [
    {"name": "food", "amount": 10, "children": [{"name": "fruit", "amount": 4}, {"name": "bread", "amount": 3}]},
    {"name": "rent", "amount": 900}]}}),

    ("recursive json depth and key count", r'''
def depth(x):
    if isinstance(x, dict):
        return 1 + max((depth(v) for v in x.values()), default=0)
    if isinstance(x, list):
        return 1 + max((depth(v) for v in x), default=0)
    return 0


def count_keys(x):
    if isinstance(x, dict):
        return len(x) + sum(count_keys(v) for v in x.values())
    if isinstance(x, list):
        return sum(count_keys(v) for v in x)
    return 0


def strip_nulls(x):
    if isinstance(x, dict):
        return {k: strip_nulls(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [strip_nulls(v) for v in x if v is not None]
    return x


def solve(doc):
    return {"depth": depth(doc), "keys": count_keys(doc), "clean": strip_nulls(doc)}
''', {"doc": {"a": 1, "b": {"c": None, "d": [1, None, {"e": 2, "f": None}]}, "g": None}}),

    ("recursive permutations of letters", r'''
def perms(s):
    if len(s) <= 1:
        return [s]
    out = []
    for i, ch in enumerate(s):
        if ch in s[:i]:
            continue
        for rest in perms(s[:i] + s[i + 1:]):
            out.append(ch + rest)
    return out


def solve(word):
    p = perms(word)
    return {"count": len(p), "first": p[:5], "sorted_last": sorted(p)[-1]}
''', {"word": "abca"}),

    ("recursive binary search", r'''
def bsearch(xs, target, lo=0, hi=None):
    if hi is None:
        hi = len(xs) - 1
    if lo > hi:
        return -(lo + 1)
    mid = (lo + hi) // 2
    if xs[mid] == target:
        return mid
    if xs[mid] < target:
        return bsearch(xs, target, mid + 1, hi)
    return bsearch(xs, target, lo, mid - 1)


def solve(xs, targets):
    xs = sorted(xs)
    return {str(t): bsearch(xs, t) for t in targets}
''', {"xs": [40, 3, 17, 8, 25, 1, 99], "targets": [17, 2, 99, 100]}),

    ("recursive change making", r'''
def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])


def fewest(amount, coins, memo=None):
    if memo is None:
        memo = {}
    if amount == 0:
        return 0
    if amount in memo:
        return memo[amount]
    best = None
    for c in coins:
        if c <= amount:
            sub = fewest(amount - c, coins, memo)
            if sub is not None and (best is None or sub + 1 < best):
                best = sub + 1
    memo[amount] = best
    return best


def solve(amount, coins):
    return {"ways": ways(amount, sorted(coins, reverse=True)), "fewest": fewest(amount, coins)}
''', {"amount": 63, "coins": [1, 5, 10, 25]}),

    ("recursive org chart rendering", r'''
def render(name, reports, depth=0):
    lines = ["  " * depth + ("- " if depth else "") + name]
    for r in sorted(reports.get(name, [])):
        lines.extend(render(r, reports, depth + 1))
    return lines


def solve(employees):
    reports = {}
    roots = []
    for e in employees:
        if e["manager"] is None:
            roots.append(e["name"])
        else:
            reports.setdefault(e["manager"], []).append(e["name"])
    out = []
    for root in roots:
        out.extend(render(root, reports))
    return out
''', {"employees": [{"name": "ceo", "manager": None}, {"name": "cto", "manager": "ceo"}, {"name": "dev2", "manager": "cto"},
                    {"name": "dev1", "manager": "cto"}, {"name": "cfo", "manager": "ceo"}, {"name": "acct", "manager": "cfo"}]}),

    ("recursive merge of nested dicts", r'''
def deep_merge(base, override):
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = out[k] + [x for x in v if x not in out[k]]
        else:
            out[k] = v
    return out


def solve(layers):
    result = {}
    for layer in layers:
        result = deep_merge(result, layer)
    return result
''', {"layers": [{"db": {"host": "localhost", "port": 5432}, "features": ["a"]},
                 {"db": {"port": 6543, "ssl": {"mode": "require"}}, "features": ["b", "a"]},
                 {"db": {"ssl": {"ca": "/etc/ca.pem"}}, "debug": True}]}),

    ("recursive mergesort with counts", r'''
def merge_sort(xs):
    if len(xs) <= 1:
        return xs, 0
    mid = len(xs) // 2
    left, a = merge_sort(xs[:mid])
    right, b = merge_sort(xs[mid:])
    merged, inversions, i, j = [], a + b, 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            inversions += len(left) - i
            j += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    return merged, inversions


def solve(xs):
    ordered, inversions = merge_sort(xs)
    return {"sorted": ordered, "inversions": inversions}
''', {"xs": [8, 4, 2, 1, 7, 3, 9, 5]}),

    # --- sorting with keys ------------------------------------------------------------------------
    ("sort by multiple keys mixed direction", r'''
def solve(players):
    ranked = sorted(players, key=lambda p: (-p["points"], p["games"], p["name"].lower()))
    lines = []
    for i, p in enumerate(ranked, 1):
        lines.append(f"{i}. {p['name']} ({p['points']} pts, {p['games']} games)")
    return lines
''', {"players": [{"name": "bo", "points": 10, "games": 5}, {"name": "Al", "points": 12, "games": 6},
                  {"name": "cy", "points": 10, "games": 4}, {"name": "Ad", "points": 10, "games": 5}]}),

    ("natural sort of file names", r'''
import re


def natural_key(s):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", s)]


def solve(files):
    return {"natural": sorted(files, key=natural_key), "plain": sorted(files)}
''', {"files": ["img12.png", "img10.png", "IMG2.png", "img1.png", "doc.txt", "img2b.png"]}),

    ("stable sort preserving ties", r'''
def solve(tickets):
    by_priority = sorted(tickets, key=lambda t: t["priority"])
    by_age_then_priority = sorted(sorted(tickets, key=lambda t: t["age"], reverse=True), key=lambda t: t["priority"])
    return {"by_priority": [t["id"] for t in by_priority],
            "by_priority_oldest_first": [t["id"] for t in by_age_then_priority]}
''', {"tickets": [{"id": "T1", "priority": 2, "age": 5}, {"id": "T2", "priority": 1, "age": 1},
                  {"id": "T3", "priority": 2, "age": 9}, {"id": "T4", "priority": 1, "age": 7}]}),

    ("sort with none values last", r'''
def solve(rows, field):
    present = [r for r in rows if r.get(field) is not None]
    missing = [r for r in rows if r.get(field) is None]
    ordered = sorted(present, key=lambda r: r[field]) + missing
    alt = sorted(rows, key=lambda r: (r.get(field) is None, r.get(field) or 0))
    return {"ordered": [r["id"] for r in ordered], "same": [r["id"] for r in alt] == [r["id"] for r in ordered]}
''', {"rows": [{"id": 1, "due": 5}, {"id": 2}, {"id": 3, "due": 2}, {"id": 4, "due": None}, {"id": 5, "due": 9}],
      "field": "due"}),

    ("sort dict items by value then key", r'''
def solve(text):
    counts = {}
    for w in text.lower().split():
        w = w.strip(".,;:!?\"'()")
        if w:
            counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return [[w, n] for w, n in top]
''', {"text": "The cat and the hat. The bat, the rat; a cat! And a hat?"}),

    ("sort dates in mixed formats", r'''
from datetime import datetime


FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%b %d, %Y", "%d.%m.%y"]


def parse(s):
    for fmt in FORMATS:
        try:
            return datetime.strptime(s.strip(), fmt)
        except ValueError:
            pass
    raise ValueError(s)


def solve(dates):
    return [d for d in sorted(dates, key=parse)]
''', {"dates": ["2023-05-01", "03/02/2023", "Jan 15, 2023", "01.06.22", " 2022-12-31 "]}),

    ("sort versions semver with prerelease", r'''
def key(v):
    core, sep, pre = v.lstrip("v").partition("-")
    nums = [int(x) for x in core.split(".")]
    while len(nums) < 3:
        nums.append(0)
    return (nums, 0 if sep else 1, pre)


def solve(versions):
    ordered = sorted(versions, key=key)
    return {"ordered": ordered, "newest_stable": max((v for v in versions if "-" not in v), key=key)}
''', {"versions": ["1.0.0", "v1.0.0-rc1", "0.9.12", "1.0", "1.0.0-beta", "1.2.0", "1.10.0-alpha"]}),
    # --- csv ----------------------------------------------------------------------------------------
    ("csv dictreader group totals", r'''
import csv
import io
from collections import defaultdict


def solve(table):
    totals = defaultdict(float)
    counts = defaultdict(int)
    for row in csv.DictReader(io.StringIO(table)):
        totals[row["category"]] += float(row["amount"])
        counts[row["category"]] += 1
    return {c: {"total": round(totals[c], 2), "count": counts[c], "avg": round(totals[c] / counts[c], 2)}
            for c in sorted(totals)}
''', {"table": "date,category,amount\n2024-01-01,food,12.50\n2024-01-02,travel,40\n2024-01-03,food,7.25\n2024-01-04,food,3\n"}),

    ("csv dictwriter with header and quoting", r'''
import csv
import io


def solve(people):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["name", "email", "note"], extrasaction="ignore",
                            quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writeheader()
    for p in people:
        writer.writerow({**p, "note": p.get("note", "")})
    return out.getvalue()
''', {"people": [{"name": "Lee, Ann", "email": "ann@x.io", "age": 3}, {"name": "Bob \"The\" Builder", "email": "b@y.io", "note": "line1\nline2"}]}),

    ("csv semicolon european numbers", r'''
import csv
import io


def to_float(s):
    return float(s.replace(".", "").replace(",", "."))


def solve(table):
    reader = csv.reader(io.StringIO(table), delimiter=";")
    header = next(reader)
    rows = [dict(zip(header, r)) for r in reader if r]
    return {"rows": len(rows),
            "total": round(sum(to_float(r["Betrag"]) for r in rows), 2),
            "max": max(rows, key=lambda r: to_float(r["Betrag"]))["Kunde"]}
''', {"table": "Kunde;Betrag;Datum\nMüller GmbH;1.234,56;01.02.2024\nSchmidt;99,90;03.02.2024\n\nWeber AG;12.000,00;05.02.2024\n"}),

    ("csv reader with quoted newlines and tabs", r'''
import csv
import io


def solve(tsv):
    reader = csv.reader(io.StringIO(tsv), delimiter="\t")
    rows = list(reader)
    header, data = rows[0], rows[1:]
    return [{h: v for h, v in zip(header, row)} for row in data]
''', {"tsv": "id\tcomment\tscore\n1\t\"multi\nline\"\t5\n2\tplain\t3\n"}),

    ("csv transpose columns to json", r'''
import csv
import io


def solve(table):
    reader = csv.DictReader(io.StringIO(table.strip()))
    columns = {name: [] for name in reader.fieldnames}
    for row in reader:
        for name in reader.fieldnames:
            value = row[name]
            try:
                columns[name].append(int(value))
            except ValueError:
                try:
                    columns[name].append(float(value))
                except ValueError:
                    columns[name].append(value or None)
    return columns
''', {"table": "city,pop,area\nOslo,709037,454.0\nBergen,289330,\nTromsø,77544,2521\n"}),

    ("csv merge two tables on key", r'''
import csv
import io


def read(text):
    return {r["id"]: r for r in csv.DictReader(io.StringIO(text))}


def solve(customers, orders):
    cust = read(customers)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["order", "customer", "country", "amount"])
    missing = []
    for row in csv.DictReader(io.StringIO(orders)):
        c = cust.get(row["customer_id"])
        if c is None:
            missing.append(row["order_id"])
            continue
        w.writerow([row["order_id"], c["name"], c["country"], f"{float(row['amount']):.2f}"])
    return {"csv": out.getvalue().splitlines(), "missing_customer": missing}
''', {"customers": "id,name,country\n1,Acme,DE\n2,Globex,US\n",
      "orders": "order_id,customer_id,amount\nA,1,10\nB,3,5.5\nC,2,99.999\n"}),

    ("csv sniffer detects dialect", r'''
import csv
import io


def solve(samples):
    out = []
    for text in samples:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] + "\n" + text.splitlines()[1])
        has_header = csv.Sniffer().has_header(text)
        rows = list(csv.reader(io.StringIO(text), dialect))
        out.append({"delimiter": dialect.delimiter, "header": has_header, "rows": len(rows), "first": rows[0]})
    return out
''', {"samples": ["name;age;city\nann;31;Oslo\nbob;42;Rome\n", "a|b|c\n1|2|3\n4|5|6\n"]}),

    ("csv clean and dedupe rows", r'''
import csv
import io


def solve(table):
    seen = set()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    dropped = 0
    for i, row in enumerate(csv.reader(io.StringIO(table))):
        cleaned = [c.strip() for c in row]
        if i > 0:
            cleaned[1] = cleaned[1].lower()
        key = tuple(cleaned)
        if not any(cleaned) or key in seen:
            dropped += 1
            continue
        seen.add(key)
        writer.writerow(cleaned)
    return {"csv": out.getvalue(), "dropped": dropped}
''', {"table": "name,email\n Ann , ANN@X.IO\nAnn,ann@x.io\n,\nBob,bob@y.io \n"}),

    ("csv quote all numeric output", r'''
import csv
import io


def solve(rows):
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    w.writerows(rows)
    text = out.getvalue()
    back = list(csv.reader(io.StringIO(text), quoting=csv.QUOTE_NONNUMERIC))
    return {"text": text, "parsed": back}
''', {"rows": [["sku", "qty", "price"], ["a-1", 3, 2.5], ["b,2", 10, 0.1]]}),

    ("csv running balance per account", r'''
import csv
import io


def solve(ledger):
    balances = {}
    statement = []
    for row in csv.DictReader(io.StringIO(ledger), skipinitialspace=True):
        amt = float(row["amount"])
        if row["type"] == "debit":
            amt = -amt
        bal = balances[row["account"]] = round(balances.get(row["account"], 0.0) + amt, 2)
        statement.append(f"{row['date']} {row['account']:<6} {amt:>+9.2f} {bal:>9.2f}")
    return {"balances": balances, "statement": statement}
''', {"ledger": "date, account, type, amount\n2024-01-01, cash, credit, 100\n2024-01-02, cash, debit, 30.5\n"
                "2024-01-02, bank, credit, 1000\n2024-01-05, cash, debit, 80\n"}),

    # --- json ---------------------------------------------------------------------------------------
    ("json reshape api response", r'''
import json


def solve(payload):
    data = json.loads(payload)
    users = []
    for u in data["data"]["users"]:
        users.append({
            "id": int(u["id"]),
            "name": f"{u['attributes']['first']} {u['attributes']['last']}".strip(),
            "email": (u["attributes"].get("email") or "").lower() or None,
            "roles": sorted(r["name"] for r in u.get("relationships", {}).get("roles", [])),
        })
    return {"count": len(users), "users": users}
''', {"payload": '{"data": {"users": [{"id": "7", "attributes": {"first": "Ann", "last": "Lee", "email": "ANN@X.IO"},'
                 ' "relationships": {"roles": [{"name": "editor"}, {"name": "admin"}]}},'
                 ' {"id": "9", "attributes": {"first": "Bob", "last": ""}}]}}'}),

    ("json dumps pretty sorted", r'''
import json


def solve(obj):
    pretty = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False)
    compact = json.dumps(obj, separators=(",", ":"), sort_keys=True)
    ascii_only = json.dumps(obj, sort_keys=True)
    return {"pretty_lines": pretty.splitlines(), "compact": compact, "ascii": ascii_only}
''', {"obj": {"name": "Zoë", "tags": ["a", "b"], "n": 1.5, "nested": {"z": None, "a": True}}}),

    ("json lines parse with errors", r'''
import json


def solve(jsonl):
    good, bad = [], []
    for n, line in enumerate(jsonl.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append({"line": n, "error": e.msg, "pos": e.pos})
            continue
        if isinstance(rec, dict):
            good.append(rec)
        else:
            bad.append({"line": n, "error": "not an object", "pos": 0})
    return {"records": good, "errors": bad}
''', {"jsonl": '{"a": 1}\n{"b": [1, 2]}\n{bad json}\n\n[1, 2]\n{"c": "x"\n'}),

    ("json object hook decimal and dates", r'''
import json
from decimal import Decimal
from datetime import date


def hook(obj):
    out = {}
    for k, v in obj.items():
        if isinstance(v, str) and k.endswith("_date"):
            out[k] = date.fromisoformat(v)
        else:
            out[k] = v
    return out


def solve(text):
    data = json.loads(text, object_hook=hook, parse_float=Decimal)
    total = sum((item["amount"] for item in data["items"]), Decimal("0"))
    days = (data["due_date"] - data["issue_date"]).days
    return {"total": str(total), "days": days, "weekday_due": data["due_date"].strftime("%A")}
''', {"text": '{"issue_date": "2024-02-20", "due_date": "2024-03-05", "items": [{"amount": 0.1}, {"amount": 0.2}, {"amount": 10.005}]}'}),

    ("json default serializer for custom types", r'''
import json
from datetime import datetime
from decimal import Decimal


def encode(o):
    if isinstance(o, datetime):
        return o.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"cannot serialise {o!r}")


def solve(events):
    records = [{"at": datetime.fromisoformat(e["at"]), "amount": Decimal(e["amount"]), "tags": set(e["tags"])}
               for e in events]
    return json.dumps(records, default=encode, sort_keys=True)
''', {"events": [{"at": "2024-05-01T10:30:00", "amount": "19.90", "tags": ["b", "a", "b"]}]}),

    ("json flatten to dotted keys and back", r'''
import json


def flatten(obj, prefix=""):
    items = {}
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and v:
            items.update(flatten(v, key))
        else:
            items[key] = v
    return items


def unflatten(flat):
    root = {}
    for dotted, v in flat.items():
        node = root
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = v
    return root


def solve(text):
    original = json.loads(text)
    flat = flatten(original)
    return {"flat": flat, "roundtrip_ok": unflatten(flat) == original}
''', {"text": '{"server": {"host": "h", "ports": [80, 443], "tls": {"on": true}}, "name": "x", "empty": {}}'}),

    ("json diff two documents", r'''
import json


def diff(a, b, path=""):
    changes = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}/{k}"
            if k not in a:
                changes.append({"op": "add", "path": p, "value": b[k]})
            elif k not in b:
                changes.append({"op": "remove", "path": p})
            else:
                changes.extend(diff(a[k], b[k], p))
    elif a != b:
        changes.append({"op": "replace", "path": path or "/", "value": b})
    return changes


def solve(before, after):
    return diff(json.loads(before), json.loads(after))
''', {"before": '{"name": "a", "tags": ["x"], "cfg": {"debug": false, "level": 1}}',
      "after": '{"name": "a", "tags": ["x", "y"], "cfg": {"debug": true}, "new": 1}'}),

    ("json validate required schema fields", r'''
import json

SCHEMA = {"id": int, "name": str, "price": (int, float), "tags": list}


def solve(text):
    problems = {}
    items = json.loads(text)
    for i, item in enumerate(items):
        errs = []
        for field, kind in SCHEMA.items():
            if field not in item:
                errs.append(f"missing {field}")
            elif not isinstance(item[field], kind) or isinstance(item[field], bool):
                errs.append(f"{field} has wrong type")
        extra = sorted(set(item) - set(SCHEMA))
        if extra:
            errs.append("unexpected " + ", ".join(extra))
        if errs:
            problems[str(i)] = errs
    return {"valid": len(items) - len(problems), "problems": problems}
''', {"text": '[{"id": 1, "name": "a", "price": 2, "tags": []}, {"id": "2", "name": "b", "price": true, "tags": []},'
              ' {"name": "c", "price": 1.5, "tags": ["x"], "colour": "red"}]'}),

    ("json group records by field", r'''
import json


def solve(text, field):
    records = json.loads(text)
    groups = {}
    for r in records:
        groups.setdefault(str(r.get(field, "n/a")), []).append(r["id"])
    return json.dumps({"field": field, "groups": groups}, indent=None)
''', {"text": '[{"id": 1, "team": "red"}, {"id": 2, "team": "blue"}, {"id": 3, "team": "red"}, {"id": 4}]', "field": "team"}),

    ("json escape roundtrip unicode", r'''
import json


def solve(strings):
    encoded = [json.dumps(s) for s in strings]
    raw = [json.dumps(s, ensure_ascii=False) for s in strings]
    back = [json.loads(e) for e in encoded]
    return {"encoded": encoded, "raw": raw, "equal": back == strings}
''', {"strings": ["plain", "quote \" and \\ backslash", "tab\tnew\nline", "émoji 😀", "\u0000nul"]}),

    # --- re -----------------------------------------------------------------------------------------
    ("regex invoice fields extraction", r'''
import re


def solve(text):
    number = re.search(r"Invoice\s*(?:No\.?|#|Number)\s*[:\-]?\s*([A-Z0-9\-/]+)", text, re.I)
    date = re.search(r"Date\s*:\s*(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})", text, re.I)
    total = re.search(r"^\s*Total(?: due)?\s*[:\s]\s*(?:EUR|€|\$)?\s*([\d.,]+)", text, re.I | re.M)
    amount = None
    if total:
        raw = total.group(1)
        if "," in raw[-3:]:
            raw = raw.replace(".", "").replace(",", ".")
        amount = float(raw.replace(",", ""))
    iso = None
    if date:
        day, month, year = date.groups()
        year = "20" + year if len(year) == 2 else year
        iso = f"{year}-{int(month):02d}-{int(day):02d}"
    return {"number": number.group(1) if number else None, "date": iso, "total": amount}
''', {"text": "ACME Ltd\nInvoice No: INV-2024/0042\nDate: 5.3.2024\n\nSubtotal: 1,000.00\nVAT: 200.00\nTotal due: EUR 1,200.00\n"}),

    ("regex sub with function callback", r'''
import re


def solve(text, rates):
    def convert(m):
        amount = float(m.group(2).replace(",", ""))
        cur = m.group(1)
        eur = amount * rates.get(cur, 1.0)
        return f"€{eur:,.2f}"

    converted = re.sub(r"([$£¥])\s?(\d[\d,]*(?:\.\d+)?)", convert, text)
    return converted
''', {"text": "Lunch $12.50, hotel £1,200 and a ticket ¥3,000.", "rates": {"$": 0.92, "£": 1.17, "¥": 0.0061}}),

    ("regex verbose phone normaliser", r'''
import re

PHONE = re.compile(r"""
    ^\s*
    (?:\+?(?P<cc>\d{1,3})[\s.-]?)?     # country code
    \(?(?P<area>\d{3})\)?[\s.-]?       # area code
    (?P<a>\d{3})[\s.-]?
    (?P<b>\d{4})
    \s*$
""", re.VERBOSE)


def solve(numbers):
    out = {}
    for n in numbers:
        m = PHONE.match(n)
        if m:
            cc = m.group("cc") or "1"
            out[n] = f"+{cc} ({m['area']}) {m['a']}-{m['b']}"
        else:
            out[n] = None
    return out
''', {"numbers": ["(555) 123-4567", "+44 207 555 0199", "555.123.4567", "12345", " 1-800-555-0000 "]}),

    ("regex finditer with spans", r'''
import re


def solve(text):
    hits = []
    for m in re.finditer(r"#(\w+)|@(\w+)|(https?://\S+)", text):
        kind = "hashtag" if m.group(1) else "mention" if m.group(2) else "url"
        hits.append({"kind": kind, "value": m.group(0), "start": m.start(), "end": m.end()})
    return hits
''', {"text": "Thanks @ann for the #release notes: https://example.com/notes?v=2 #python"}),

    ("regex split on multiple delimiters", r'''
import re


def solve(lines):
    out = []
    for line in lines:
        parts = [p for p in re.split(r"\s*[,;|]\s*|\s{2,}", line.strip()) if p]
        out.append(parts)
    words = re.split(r"(\W+)", "hello, world!")
    return {"fields": out, "keep_separators": words}
''', {"lines": ["a, b;c | d", "name   age  city", "x;;y"]}),

    ("regex named groups groupdict log parse", r'''
import re

LOG = re.compile(
    r'(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) - - \[(?P<when>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]+" (?P<status>\d{3}) (?P<size>\d+|-)'
)


def solve(log):
    rows = []
    for line in log.splitlines():
        m = LOG.match(line)
        if m:
            d = m.groupdict()
            d["status"] = int(d["status"])
            d["size"] = 0 if d["size"] == "-" else int(d["size"])
            rows.append(d)
    errors = sum(1 for r in rows if r["status"] >= 400)
    return {"rows": rows, "errors": errors, "bytes": sum(r["size"] for r in rows)}
''', {"log": '10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326\n'
             'garbage line\n'
             '10.0.0.2 - - [10/Oct/2023:13:55:40 +0000] "POST /api/x HTTP/1.1" 500 -\n'}),

    ("regex email and url validation", r'''
import re

EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
URL = re.compile(r"^https?://[\w.-]+(?::\d+)?(?:/[\w./%-]*)?(?:\?\S*)?$")


def solve(values):
    return [
        {"value": v, "email": bool(EMAIL.fullmatch(v)), "url": bool(URL.match(v))}
        for v in values
    ]
''', {"values": ["ann@example.com", "bad@", "http://x.io:8080/a/b?c=1", "ftp://x", "first.last+tag@sub.domain.org"]}),

    ("regex subn redact secrets", r'''
import re


def solve(text):
    patterns = [
        (r"\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?(\d{4})\b", r"****-****-****-\1"),
        (r"(?i)(password|token)\s*[:=]\s*\S+", r"\1=[redacted]"),
        (r"[\w.]+@([\w.]+)", r"***@\1"),
    ]
    total = 0
    for pat, repl in patterns:
        text, n = re.subn(pat, repl, text)
        total += n
    return {"text": text, "replacements": total}
''', {"text": "card 4111 1111 1111 1234, password: hunter2, mail bob.s@corp.example TOKEN=abc123"}),

    ("regex lookahead password strength", r'''
import re

RULES = {
    "length": r"^.{8,}$",
    "upper": r"(?=.*[A-Z])",
    "lower": r"(?=.*[a-z])",
    "digit": r"(?=.*\d)",
    "symbol": r"(?=.*[^\w\s])",
}


def solve(passwords):
    out = {}
    for p in passwords:
        passed = [name for name, rule in RULES.items() if re.search(rule, p)]
        out[p] = {"score": len(passed), "missing": [n for n in RULES if n not in passed]}
    return out
''', {"passwords": ["abc", "Password1", "S3cure!pass", "ALLCAPS123"]}),

    ("regex tokenise sentences and words", r'''
import re


def solve(text):
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    words = re.findall(r"\b[\w']+\b", text.lower())
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]
    return {"sentences": sentences, "word_count": len(words), "longest": max(words, key=len), "numbers": numbers}
''', {"text": "It costs 3.50 today. Tomorrow it's -2 off! Isn't that great? Yes."}),

    ("regex backreference repeated words", r'''
import re


def solve(text):
    repeated = [m.group(1) for m in re.finditer(r"\b(\w+)\s+\1\b", text, re.IGNORECASE)]
    fixed = re.sub(r"\b(\w+)(\s+\1\b)+", r"\1", text, flags=re.IGNORECASE)
    return {"repeated": repeated, "fixed": fixed}
''', {"text": "This is is a test test test of the the editor. The the end."}),

    ("regex escape user search terms", r'''
import re


def solve(text, terms):
    out = {}
    for t in terms:
        pattern = re.compile(r"(?<!\w)" + re.escape(t) + r"(?!\w)", re.IGNORECASE)
        out[t] = len(pattern.findall(text))
    highlighted = re.sub("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         lambda m: f"[{m.group(0)}]", text)
    return {"counts": out, "highlighted": highlighted}
''', {"text": "C++ and C# devs use a.b() calls; c++ is fun (really).", "terms": ["c++", "C#", "a.b()", "(really)"]}),

    ("regex multiline headers parse", r'''
import re


def solve(message):
    head, sep, body = message.partition("\n\n")
    unfolded = re.sub(r"\n[ \t]+", " ", head)
    headers = {}
    for m in re.finditer(r"^([\w-]+):[ \t]*(.*)$", unfolded, re.MULTILINE):
        headers.setdefault(m.group(1).lower(), []).append(m.group(2).strip())
    boundary = re.search(r'boundary="?([^";]+)"?', " ".join(headers.get("content-type", [])))
    return {"headers": headers, "boundary": boundary.group(1) if boundary else None,
            "body_lines": len(body.splitlines())}
''', {"message": "From: ann@x.io\nTo: bob@y.io,\n  cy@z.io\nSubject: Hello\nReceived: a\nReceived: b\n"
                   "Content-Type: multipart/mixed; boundary=\"XYZ\"\n\nline one\nline two\n"}),
    # --- datetime -----------------------------------------------------------------------------------
    ("date normalisation many formats", r'''
from datetime import datetime

FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%y", "%d %b %Y", "%B %d, %Y", "%Y%m%d", "%d-%b-%y")


def normalise(raw):
    text = " ".join(raw.replace(",", ", ").split()).replace(" ,", ",")
    for fmt in FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def solve(dates):
    return {d: normalise(d) for d in dates}
''', {"dates": ["2024-02-29", "31/12/2023", "1.4.2024", "03/15/24", "7 Mar 2024", "March 7,2024", "20240101", "05-Jan-24", "soon"]}),

    ("days until due and overdue flags", r'''
from datetime import date, timedelta


def solve(invoices, today):
    t = date.fromisoformat(today)
    out = []
    for inv in invoices:
        issued = date.fromisoformat(inv["issued"])
        due = issued + timedelta(days=inv.get("terms", 30))
        delta = (due - t).days
        out.append({"id": inv["id"], "due": due.isoformat(), "days_left": delta,
                    "status": "overdue" if delta < 0 else "due soon" if delta <= 7 else "ok"})
    return sorted(out, key=lambda r: r["days_left"])
''', {"invoices": [{"id": "A", "issued": "2024-01-10"}, {"id": "B", "issued": "2024-02-20", "terms": 14},
                   {"id": "C", "issued": "2024-02-01", "terms": 60}], "today": "2024-03-01"}),

    ("working days between dates", r'''
from datetime import date, timedelta


def working_days(start, end, holidays):
    d, n = start, 0
    while d < end:
        if d.weekday() < 5 and d not in holidays:
            n += 1
        d += timedelta(days=1)
    return n


def add_working_days(start, n, holidays):
    d = start
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5 and d not in holidays:
            n -= 1
    return d


def solve(start, end, holidays, add):
    hol = {date.fromisoformat(h) for h in holidays}
    s, e = date.fromisoformat(start), date.fromisoformat(end)
    return {"between": working_days(s, e, hol), "plus": add_working_days(s, add, hol).isoformat()}
''', {"start": "2024-12-20", "end": "2025-01-06", "holidays": ["2024-12-25", "2024-12-26", "2025-01-01"], "add": 5}),

    ("timezone conversion with fixed offsets", r'''
from datetime import datetime, timezone, timedelta


def solve(meetings):
    out = []
    for m in meetings:
        local = datetime.strptime(m["time"], "%Y-%m-%d %H:%M")
        tz = timezone(timedelta(hours=m["utc_offset"]))
        aware = local.replace(tzinfo=tz)
        utc = aware.astimezone(timezone.utc)
        tokyo = aware.astimezone(timezone(timedelta(hours=9)))
        out.append({"utc": utc.isoformat(), "tokyo": tokyo.strftime("%a %H:%M"), "epoch": int(aware.timestamp())})
    return out
''', {"meetings": [{"time": "2024-03-10 09:30", "utc_offset": -5}, {"time": "2024-03-10 23:15", "utc_offset": 1}]}),

    ("age calculation from birthdays", r'''
from datetime import date


def age_on(born, on):
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years


def solve(people, on):
    ref = date.fromisoformat(on)
    rows = []
    for p in people:
        b = date.fromisoformat(p["born"])
        try:
            nxt = b.replace(year=ref.year)
        except ValueError:
            nxt = date(ref.year, 3, 1)
        if nxt < ref:
            try:
                nxt = b.replace(year=ref.year + 1)
            except ValueError:
                nxt = date(ref.year + 1, 3, 1)
        rows.append({"name": p["name"], "age": age_on(b, ref), "days_to_birthday": (nxt - ref).days})
    return rows
''', {"people": [{"name": "ann", "born": "1990-06-15"}, {"name": "leap", "born": "2000-02-29"}, {"name": "bob", "born": "1985-01-01"}],
      "on": "2023-06-14"}),

    ("group timestamps by iso week", r'''
from datetime import datetime
from collections import defaultdict


def solve(events):
    weeks = defaultdict(list)
    for e in events:
        dt = datetime.fromisoformat(e["at"])
        year, week, weekday = dt.isocalendar()
        weeks[f"{year}-W{week:02d}"].append(e["what"])
    return dict(sorted(weeks.items()))
''', {"events": [{"at": "2024-01-01T08:00:00", "what": "a"}, {"at": "2023-12-31T23:00:00", "what": "b"},
                 {"at": "2024-01-07T12:00:00", "what": "c"}, {"at": "2024-01-08T00:00:01", "what": "d"}]}),

    ("durations summed and formatted", r'''
from datetime import timedelta
import re


def parse(d):
    m = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", d.strip())
    if not m or not any(m.groups()):
        raise ValueError(d)
    h, mi, s = (int(x) if x else 0 for x in m.groups())
    return timedelta(hours=h, minutes=mi, seconds=s)


def fmt(td):
    total = int(td.total_seconds())
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


def solve(durations):
    parsed = [parse(d) for d in durations]
    total = sum(parsed, timedelta())
    return {"total": fmt(total), "longest": fmt(max(parsed)), "avg_minutes": round(total.total_seconds() / 60 / len(parsed), 1)}
''', {"durations": ["1h 30m", "45m", "2h", "10m 30s", "59s"]}),

    ("month end and quarter helpers", r'''
from datetime import date, timedelta


def month_end(d):
    first_next = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def quarter(d):
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def solve(days):
    return [{"day": s, "month_end": month_end(date.fromisoformat(s)).isoformat(),
             "quarter": quarter(date.fromisoformat(s))} for s in days]
''', {"days": ["2024-02-10", "2023-12-05", "2024-04-30", "2100-02-01"]}),

    ("parse log timestamps and gaps", r'''
from datetime import datetime


def solve(lines, max_gap_s):
    stamps = []
    for line in lines:
        ts = line.split(" ", 2)
        stamps.append(datetime.strptime(ts[0] + " " + ts[1], "%Y-%m-%d %H:%M:%S,%f"))
    gaps = []
    for a, b in zip(stamps, stamps[1:]):
        gap = (b - a).total_seconds()
        if gap > max_gap_s:
            gaps.append({"from": a.strftime("%H:%M:%S.%f")[:-3], "seconds": gap})
    span = stamps[-1] - stamps[0]
    return {"gaps": gaps, "span": str(span)}
''', {"lines": ["2024-05-01 10:00:00,125 INFO start", "2024-05-01 10:00:01,500 INFO a",
                "2024-05-01 10:00:09,000 WARN b", "2024-05-01 10:01:00,250 INFO end"], "max_gap_s": 5}),

    ("recurring schedule next dates", r'''
from datetime import date, timedelta


def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    days_in = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(d.day, days_in[month - 1]))


def solve(start, rule, count):
    s = date.fromisoformat(start)
    if rule == "weekly":
        dates = [s + timedelta(weeks=i) for i in range(count)]
    elif rule == "monthly":
        dates = [add_months(s, i) for i in range(count)]
    else:
        raise ValueError(rule)
    return [d.isoformat() for d in dates]
''', {"start": "2024-01-31", "rule": "monthly", "count": 5}),

    ("time strings to minutes and shifts", r'''
from datetime import datetime, timedelta


def solve(shifts):
    out = []
    total = timedelta()
    for s in shifts:
        start = datetime.strptime(s["start"], "%H:%M")
        end = datetime.strptime(s["end"], "%H:%M")
        if end <= start:
            end += timedelta(days=1)
        worked = end - start - timedelta(minutes=s.get("break", 0))
        total += worked
        out.append({"who": s["who"], "hours": worked.seconds / 3600, "night": end.day > start.day})
    return {"shifts": out, "total_hours": total.total_seconds() / 3600}
''', {"shifts": [{"who": "ann", "start": "09:00", "end": "17:30", "break": 30}, {"who": "bob", "start": "22:00", "end": "06:00"}]}),

    ("time module strftime and gmtime", r'''
import time


def solve(epochs):
    out = []
    for e in epochs:
        t = time.gmtime(e)
        out.append({"iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", t), "weekday": time.strftime("%A", t),
                    "yday": t.tm_yday})
    parsed = time.strptime("2024-07-04 12:00", "%Y-%m-%d %H:%M")
    return {"rows": out, "parsed": [parsed.tm_year, parsed.tm_mon, parsed.tm_mday, parsed.tm_wday]}
''', {"epochs": [0, 1700000000, 951782400]}),

    ("date fromisocalendar and ranges", r'''
from datetime import date


def solve(weeks):
    out = {}
    for w in weeks:
        year, num = w.split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
        sunday = date.fromisocalendar(int(year), int(num), 7)
        out[w] = f"{monday:%d %b} – {sunday:%d %b %Y}"
    return out
''', {"weeks": ["2024-W01", "2020-W53", "2025-W10"]}),

    # --- decimal ------------------------------------------------------------------------------------
    ("decimal currency rounding half up", r'''
from decimal import Decimal, ROUND_HALF_UP, ROUND_HALF_EVEN

CENT = Decimal("0.01")


def solve(prices, qty, vat):
    rate = Decimal(vat)
    rows = []
    for p in prices:
        net = (Decimal(p) * qty).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = (net * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        bankers = (net * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        rows.append({"net": str(net), "tax": str(tax), "tax_bankers": str(bankers), "gross": str(net + tax)})
    return rows
''', {"prices": ["0.125", "19.99", "2.675", "1.005"], "qty": 3, "vat": "0.19"}),

    ("decimal split bill fairly", r'''
from decimal import Decimal, ROUND_DOWN


def solve(total, people):
    amount = Decimal(total)
    share = (amount / people).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    shares = [share] * people
    remainder = amount - share * people
    cents = int(remainder * 100)
    for i in range(cents):
        shares[i] += Decimal("0.01")
    assert sum(shares) == amount
    return [str(s) for s in shares]
''', {"total": "100.00", "people": 3}),

    ("decimal context precision without with", r'''
import decimal


def solve(numerators, denominator, digits):
    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_UP)
    d = decimal.Decimal(denominator)
    out = [str(ctx.divide(decimal.Decimal(n), d)) for n in numerators]
    sqrt2 = ctx.sqrt(decimal.Decimal(2))
    return {"quotients": out, "sqrt2": str(sqrt2), "prec": ctx.prec}
''', {"numerators": ["1", "2", "22"], "denominator": "7", "digits": 12}),

    ("decimal invalid operation and ceiling", r'''
from decimal import Decimal, ROUND_CEILING, InvalidOperation


def solve(values):
    parsed, invalid = [], []
    for v in values:
        try:
            parsed.append(Decimal(v.replace(",", "")))
        except InvalidOperation:
            invalid.append(v)
    total = sum(parsed, Decimal(0))
    ceiling = total.quantize(Decimal("1"), rounding=ROUND_CEILING)
    return {"total": str(total), "ceiling": str(ceiling), "invalid": invalid,
            "normalized": [str(p.normalize()) for p in parsed]}
''', {"values": ["1,000.50", "2.500", "abc", "-0.25", "1E+2"]}),

    ("decimal tax brackets", r'''
from decimal import Decimal, ROUND_HALF_UP

BRACKETS = [("10000", "0"), ("40000", "0.20"), (None, "0.40")]


def tax_for(income):
    income = Decimal(income)
    tax, lower = Decimal(0), Decimal(0)
    for upper, rate in BRACKETS:
        top = Decimal(upper) if upper else income
        if income > lower:
            taxable = min(income, top) - lower
            tax += taxable * Decimal(rate)
        lower = top
    return tax.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def solve(incomes):
    return {i: {"tax": str(tax_for(i)), "effective": f"{tax_for(i) / Decimal(i):.2%}"} for i in incomes}
''', {"incomes": ["8000", "25000.50", "120000"]}),

    ("decimal parse money strings", r'''
import re
from decimal import Decimal


def parse_money(s):
    s = s.strip()
    negative = s.startswith("-") or (s.startswith("(") and s.endswith(")"))
    digits = re.sub(r"[^\d.,]", "", s)
    if re.search(r",\d{2}$", digits):
        digits = digits.replace(".", "").replace(",", ".")
    else:
        digits = digits.replace(",", "")
    value = Decimal(digits)
    return -value if negative else value


def solve(amounts):
    parsed = [parse_money(a) for a in amounts]
    return {"parsed": [str(p) for p in parsed], "sum": str(sum(parsed)), "as_tuple_sign": [p.as_tuple().sign for p in parsed]}
''', {"amounts": ["$1,234.56", "€ 1.234,56", "(45.00)", "-0,99", "1 000 000"]}),

    ("decimal compound interest schedule", r'''
from decimal import Decimal, ROUND_HALF_UP


def solve(principal, annual_rate, years):
    p = Decimal(principal)
    r = Decimal(annual_rate) / 12
    rows = []
    for month in range(1, years * 12 + 1):
        interest = (p * r).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        p += interest
        if month % 12 == 0:
            rows.append({"year": month // 12, "balance": f"{p:,.2f}"})
    return rows
''', {"principal": "10000", "annual_rate": "0.05", "years": 3}),

    ("decimal compare and sort with exact values", r'''
from decimal import Decimal


def solve(prices):
    ds = sorted({Decimal(p) for p in prices})
    return {"sorted": [str(d) for d in ds], "float_sum": sum(float(p) for p in prices),
            "decimal_sum": str(sum(Decimal(p) for p in prices)),
            "equal_after_normalize": Decimal("1.10") == Decimal("1.1"),
            "max_places": max(-d.as_tuple().exponent for d in ds)}
''', {"prices": ["0.1", "0.2", "1.10", "1.1", "0.300", "2.005"]}),

    ("decimal context rounding per currency", r'''
from decimal import Decimal, Context, ROUND_HALF_UP, ROUND_FLOOR

DIGITS = {"EUR": 2, "JPY": 0, "BHD": 3}


def solve(amounts):
    out = []
    for a in amounts:
        places = DIGITS.get(a["cur"], 2)
        exp = Decimal(1).scaleb(-places)
        ctx = Context(prec=28, rounding=ROUND_HALF_UP)
        value = Decimal(a["value"]).quantize(exp, context=ctx)
        floor = Decimal(a["value"]).quantize(exp, rounding=ROUND_FLOOR)
        out.append(f"{value} {a['cur']} (floor {floor})")
    return out
''', {"amounts": [{"value": "12.345", "cur": "EUR"}, {"value": "1500.5", "cur": "JPY"}, {"value": "0.12345", "cur": "BHD"}]}),

    # --- fractions ----------------------------------------------------------------------------------
    ("fractions recipe scaling", r'''
from fractions import Fraction


def fmt(f):
    whole, rest = divmod(f.numerator, f.denominator)
    if rest == 0:
        return str(whole)
    frac = f"{rest}/{f.denominator}"
    return f"{whole} {frac}" if whole else frac


def solve(ingredients, serves, wanted):
    factor = Fraction(wanted, serves)
    return {name: fmt(Fraction(q) * factor) for name, q in ingredients.items()}
''', {"ingredients": {"flour cups": "9/4", "sugar cups": "1/3", "eggs": "2"},
      "serves": 4, "wanted": 6}),

    ("fractions exact probability", r'''
from fractions import Fraction
from itertools import product


def solve(sides, target):
    outcomes = list(product(range(1, sides + 1), repeat=2))
    hits = sum(1 for a, b in outcomes if a + b == target)
    p = Fraction(hits, len(outcomes))
    at_least = Fraction(sum(1 for a, b in outcomes if a + b >= target), len(outcomes))
    return {"p": str(p), "p_float": round(float(p), 4), "at_least": str(at_least), "odds_against": f"{p.denominator - p.numerator}:{p.numerator}"}
''', {"sides": 6, "target": 7}),

    ("fractions limit denominator", r'''
from fractions import Fraction
import math


def solve(values, max_den):
    out = {}
    for v in values:
        f = Fraction(v).limit_denominator(max_den)
        out[str(v)] = {"approx": str(f), "error": abs(float(f) - v) < 1e-3}
    out["pi"] = str(Fraction(math.pi).limit_denominator(1000))
    return out
''', {"values": [0.3333, 0.142857, 2.5, 1.41421356], "max_den": 100}),

    ("fractions sum of shares", r'''
from fractions import Fraction
import math


def solve(shares):
    parsed = {name: Fraction(s) for name, s in shares.items()}
    total = sum(parsed.values())
    unallocated = 1 - total
    lcd = math.lcm(*(f.denominator for f in parsed.values()))
    return {"total": str(total), "unallocated": str(unallocated), "valid": total <= 1,
            "in_units_of": f"1/{lcd}", "units": {n: int(f * lcd) for n, f in parsed.items()},
            "percent": {n: f"{float(f):.1%}" for n, f in parsed.items()}}
''', {"shares": {"ann": "1/3", "bob": "1/4", "cy": "0.25"}}),

    ("fractions mixed number parser", r'''
from fractions import Fraction
import re


def parse(s):
    m = re.fullmatch(r"\s*(-)?\s*(\d+)?\s*(?:(\d+)/(\d+))?\s*", s)
    if not m or not (m.group(2) or m.group(3)):
        raise ValueError(s)
    whole = int(m.group(2) or 0)
    frac = Fraction(int(m.group(3)), int(m.group(4))) if m.group(3) else Fraction(0)
    value = whole + frac
    return -value if m.group(1) else value


def solve(lengths):
    parsed = [parse(x) for x in lengths]
    total = sum(parsed, Fraction(0))
    return {"total": str(total), "inches": float(total), "sorted": [str(p) for p in sorted(parsed)]}
''', {"lengths": ["3 1/2", "7/8", "2", "- 1/4", "10 3/16"]}),

    # --- statistics ---------------------------------------------------------------------------------
    ("statistics summary of sales", r'''
import statistics


def solve(values):
    return {
        "mean": round(statistics.mean(values), 3),
        "median": statistics.median(values),
        "mode": statistics.mode(values),
        "stdev": round(statistics.stdev(values), 3),
        "pstdev": round(statistics.pstdev(values), 3),
        "quartiles": [round(q, 2) for q in statistics.quantiles(values, n=4)],
    }
''', {"values": [12, 15, 11, 15, 20, 18, 15, 9, 30, 14]}),

    ("statistics outliers by zscore", r'''
import statistics


def solve(readings, z):
    mu = statistics.fmean(readings)
    sd = statistics.pstdev(readings)
    outliers = [r for r in readings if sd and abs(r - mu) / sd > z]
    cleaned = [r for r in readings if r not in outliers]
    return {"mean": round(mu, 3), "outliers": outliers, "clean_mean": round(statistics.fmean(cleaned), 3)}
''', {"readings": [10.1, 9.8, 10.3, 10.0, 55.0, 9.9, 10.2, -20.0], "z": 1.5}),

    ("statistics median grouped and harmonic", r'''
import statistics


def solve(speeds, sizes):
    return {
        "harmonic_speed": round(statistics.harmonic_mean(speeds), 4),
        "geometric_growth": round(statistics.geometric_mean([1 + g for g in sizes]) - 1, 5),
        "median_low": statistics.median_low(speeds),
        "median_high": statistics.median_high(speeds),
        "multimode": statistics.multimode("aabbbcccd"),
    }
''', {"speeds": [60, 40, 30, 50], "sizes": [0.1, -0.05, 0.2]}),

    ("statistics correlation and regression", r'''
import statistics


def solve(xs, ys):
    r = statistics.correlation(xs, ys)
    fit = statistics.linear_regression(xs, ys)
    predict = [round(fit.slope * x + fit.intercept, 2) for x in (0, 10)]
    return {"r": round(r, 4), "slope": round(fit.slope, 4), "intercept": round(fit.intercept, 4),
            "covariance": round(statistics.covariance(xs, ys), 4), "predict": predict}
''', {"xs": [1, 2, 3, 4, 5, 6], "ys": [2.1, 3.9, 6.2, 7.8, 10.1, 12.2]}),

    ("statistics per group with error handling", r'''
import statistics
from collections import defaultdict


def solve(rows):
    groups = defaultdict(list)
    for r in rows:
        groups[r["team"]].append(r["score"])
    out = {}
    for team, scores in sorted(groups.items()):
        try:
            spread = round(statistics.stdev(scores), 2)
        except statistics.StatisticsError:
            spread = None
        out[team] = {"n": len(scores), "mean": round(statistics.mean(scores), 2), "stdev": spread}
    return out
''', {"rows": [{"team": "a", "score": 3}, {"team": "b", "score": 7}, {"team": "a", "score": 5}, {"team": "a", "score": 10}]}),

    ("statistics normal dist probabilities", r'''
from statistics import NormalDist


def solve(mean, sd, limits):
    dist = NormalDist(mean, sd)
    return {
        "below": {str(x): round(dist.cdf(x), 4) for x in limits},
        "p95": round(dist.inv_cdf(0.95), 3),
        "between": round(dist.cdf(limits[-1]) - dist.cdf(limits[0]), 4),
        "overlap": round(dist.overlap(NormalDist(mean + sd, sd)), 4),
    }
''', {"mean": 100, "sd": 15, "limits": [85, 100, 130]}),
    # --- collections --------------------------------------------------------------------------------
    ("counter word frequencies with stopwords", r'''
import re
from collections import Counter

STOP = {"the", "a", "an", "and", "of", "to", "is", "in"}


def solve(text, n):
    words = [w for w in re.findall(r"[a-z']+", text.lower()) if w not in STOP]
    counts = Counter(words)
    return {"top": [[w, c] for w, c in counts.most_common(n)], "distinct": len(counts), "total": sum(counts.values())}
''', {"text": "The cat sat on the mat. The cat is fat, and the mat is flat; a cat's life.", "n": 3}),

    ("counter arithmetic stock reconciliation", r'''
from collections import Counter


def solve(expected, scanned):
    want = Counter(expected)
    got = Counter(scanned)
    return {
        "missing": dict(sorted((want - got).items())),
        "extra": dict(sorted((got - want).items())),
        "matched": dict(sorted((want & got).items())),
        "union": sorted((want | got).elements()),
        "total_after_return": dict(sorted((got + Counter({"box": 1})).items())),
    }
''', {"expected": ["box", "box", "tape", "pen", "pen", "pen"], "scanned": ["pen", "box", "pen", "glue", "tape", "tape"]}),

    ("counter update and subtract inventory", r'''
from collections import Counter


def solve(start, deliveries, sales):
    stock = Counter(start)
    for d in deliveries:
        stock.update(d)
    for s in sales:
        stock.subtract(s)
    negative = sorted(k for k, v in stock.items() if v < 0)
    stock = +stock
    return {"stock": dict(sorted(stock.items())), "oversold": negative, "total": stock.total()}
''', {"start": {"apple": 5, "pear": 2}, "deliveries": [{"apple": 10}, {"kiwi": 4}], "sales": [{"apple": 12, "pear": 3}, {"kiwi": 1}]}),

    ("defaultdict nested grouping", r'''
from collections import defaultdict


def solve(sales):
    tree = defaultdict(lambda: defaultdict(list))
    for s in sales:
        tree[s["region"]][s["rep"]].append(s["amount"])
    return {region: {rep: {"n": len(a), "sum": sum(a)} for rep, a in sorted(reps.items())}
            for region, reps in sorted(tree.items())}
''', {"sales": [{"region": "EU", "rep": "ann", "amount": 10}, {"region": "US", "rep": "bob", "amount": 5},
                {"region": "EU", "rep": "ann", "amount": 7}, {"region": "EU", "rep": "cy", "amount": 1}]}),

    ("defaultdict graph adjacency bfs", r'''
from collections import defaultdict, deque


def solve(edges, start):
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
        graph[b].add(a)
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    unreachable = sorted(set(graph) - set(dist))
    return {"distances": dict(sorted(dist.items())), "unreachable": unreachable}
''', {"edges": [["a", "b"], ["b", "c"], ["a", "d"], ["d", "c"], ["c", "e"], ["x", "y"]], "start": "a"}),

    ("ordereddict recent unique items", r'''
from collections import OrderedDict


def solve(visits, keep):
    recent = OrderedDict()
    for page in visits:
        if page in recent:
            recent.move_to_end(page)
        recent[page] = recent.get(page, 0) + 1
        while len(recent) > keep:
            recent.popitem(last=False)
    return {"recent": list(reversed(recent)), "counts": dict(recent)}
''', {"visits": ["/", "/a", "/b", "/a", "/c", "/d", "/a", "/e"], "keep": 3}),

    ("deque rotate and bounded history", r'''
from collections import deque


def solve(players, passes, history_len):
    circle = deque(players)
    history = deque(maxlen=history_len)
    eliminated = []
    while len(circle) > 1:
        circle.rotate(-(passes % len(circle)))
        out = circle.pop()
        eliminated.append(out)
        history.append(out)
    return {"winner": circle[0], "eliminated": eliminated, "last_out": list(history)}
''', {"players": ["ann", "bob", "cy", "di", "ed", "flo"], "passes": 3, "history_len": 2}),

    ("deque as work queue with priorities", r'''
from collections import deque


def solve(jobs):
    urgent, normal = deque(), deque()
    for j in jobs:
        (urgent if j.get("urgent") else normal).append(j["name"])
    order = []
    tick = 0
    while urgent or normal:
        if urgent and (tick % 3 != 2 or not normal):
            order.append(urgent.popleft())
        else:
            order.append(normal.popleft())
        tick += 1
    return order
''', {"jobs": [{"name": "a", "urgent": True}, {"name": "b"}, {"name": "c", "urgent": True}, {"name": "d"},
               {"name": "e", "urgent": True}, {"name": "f", "urgent": True}]}),

    ("namedtuple records and sorting", r'''
from collections import namedtuple

Employee = namedtuple("Employee", ["name", "dept", "salary", "remote"], defaults=[False])


def solve(rows):
    staff = [Employee(*r) for r in rows]
    top = max(staff, key=lambda e: e.salary)
    by_dept = {}
    for e in sorted(staff, key=lambda e: (e.dept, -e.salary)):
        by_dept.setdefault(e.dept, []).append(e.name)
    return {"top": [top.name, top.salary], "by_dept": by_dept,
            "remote": [e.name for e in staff if e.remote], "as_lists": [list(e) for e in staff[:1]]}
''', {"rows": [["ann", "eng", 120], ["bob", "ops", 90, True], ["cy", "eng", 130, True], ["di", "ops", 95]]}),

    ("namedtuple point distances", r'''
from collections import namedtuple
import math

Point = namedtuple("Point", "x y")


def solve(coords):
    pts = [Point(*c) for c in coords]
    pairs = []
    for i, a in enumerate(pts):
        for b in pts[i + 1:]:
            pairs.append((round(math.dist(a, b), 3), [list(a), list(b)]))
    pairs.sort()
    nearest = pairs[0]
    x, y = pts[0]
    return {"nearest": nearest[1], "distance": nearest[0], "first_unpacked": x + y, "first_x": pts[0].x}
''', {"coords": [[0, 0], [5, 5], [1, 2], [6, 5.5]]}),

    ("chainmap layered settings", r'''
from collections import ChainMap


def solve(defaults, env, cli):
    settings = ChainMap(cli, env, defaults)
    child = settings.new_child({"debug": True})
    return {
        "merged": dict(sorted(settings.items())),
        "port_from": next(i for i, m in enumerate(settings.maps) if "port" in m),
        "child_debug": child["debug"],
        "parent_debug": settings["debug"],
        "keys": sorted(child),
    }
''', {"defaults": {"host": "localhost", "port": 80, "debug": False}, "env": {"port": 8080}, "cli": {"host": "0.0.0.0"}}),

    ("counter character histogram", r'''
from collections import Counter


def solve(text):
    letters = Counter(ch for ch in text.lower() if ch.isalpha())
    width = max(letters.values())
    rows = [f"{ch} {'#' * round(n * 20 / width):<20} {n}" for ch, n in sorted(letters.items())]
    vowels = sum(n for ch, n in letters.items() if ch in "aeiou")
    return {"rows": rows, "vowel_ratio": round(vowels / sum(letters.values()), 3)}
''', {"text": "Hello, World! Programming is fun."}),

    ("defaultdict int counting pairs", r'''
from collections import defaultdict


def solve(baskets):
    pair_counts = defaultdict(int)
    item_counts = defaultdict(int)
    for basket in baskets:
        items = sorted(set(basket))
        for it in items:
            item_counts[it] += 1
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                pair_counts[(items[i], items[j])] += 1
    rules = []
    for (a, b), n in pair_counts.items():
        if n >= 2:
            rules.append({"pair": [a, b], "support": n, "confidence": round(n / item_counts[a], 2)})
    return sorted(rules, key=lambda r: (-r["support"], r["pair"]))
''', {"baskets": [["milk", "bread"], ["bread", "butter", "milk"], ["beer", "bread"], ["milk", "bread", "butter"], ["butter"]]}),

    ("deque undo redo editor", r'''
from collections import deque


def solve(ops):
    text = ""
    undo, redo = deque(maxlen=10), deque()
    for op in ops:
        kind, arg = op[0], op[1] if len(op) > 1 else None
        if kind == "type":
            undo.append(text)
            redo.clear()
            text += arg
        elif kind == "delete":
            undo.append(text)
            redo.clear()
            text = text[:-arg]
        elif kind == "undo" and undo:
            redo.append(text)
            text = undo.pop()
        elif kind == "redo" and redo:
            undo.append(text)
            text = redo.pop()
    return {"text": text, "can_undo": len(undo), "can_redo": len(redo)}
''', {"ops": [["type", "Hello"], ["type", " world"], ["delete", 6], ["undo"], ["undo"], ["redo"], ["type", "!"], ["redo"]]}),

    # --- itertools ----------------------------------------------------------------------------------
    ("itertools groupby consecutive runs", r'''
from itertools import groupby


def solve(statuses):
    runs = [[k, len(list(g))] for k, g in groupby(statuses)]
    longest_down = max((n for k, n in runs if k == "down"), default=0)
    encoded = "".join(f"{n}{k[0].upper()}" for k, n in runs)
    return {"runs": runs, "longest_down": longest_down, "encoded": encoded}
''', {"statuses": ["up", "up", "down", "down", "down", "up", "degraded", "down", "up", "up"]}),

    ("itertools pairwise deltas", r'''
from itertools import pairwise


def solve(readings):
    deltas = [round(b - a, 2) for a, b in pairwise(readings)]
    rising = sum(1 for d in deltas if d > 0)
    biggest_jump = max(pairwise(readings), key=lambda p: abs(p[1] - p[0]))
    return {"deltas": deltas, "rising_steps": rising, "biggest_jump": list(biggest_jump)}
''', {"readings": [10.0, 10.5, 10.2, 12.9, 12.9, 11.0, 15.5]}),

    ("itertools combinations team pairs", r'''
from itertools import combinations, permutations


def solve(people, budget, prices):
    pairs = [list(p) for p in combinations(people, 2)]
    orders = len(list(permutations(people, 3)))
    affordable = [list(c) for r in range(1, len(prices) + 1)
                  for c in combinations(sorted(prices), r) if sum(prices[k] for k in c) <= budget]
    return {"pairs": pairs, "podium_orders": orders, "affordable": affordable}
''', {"people": ["ann", "bob", "cy", "di"], "budget": 10, "prices": {"tea": 3, "cake": 5, "jam": 4}}),

    ("itertools chain and islice pagination", r'''
from itertools import chain, islice


def solve(sources, page, size):
    merged = chain.from_iterable(sources)
    all_items = list(chain(*sources))
    start = (page - 1) * size
    page_items = list(islice(merged, start, start + size))
    return {"page": page_items, "total": len(all_items), "pages": -(-len(all_items) // size)}
''', {"sources": [["a1", "a2", "a3"], [], ["b1", "b2"], ["c1", "c2", "c3", "c4"]], "page": 2, "size": 4}),

    ("itertools product grid and zip longest", r'''
from itertools import product, zip_longest


def solve(sizes, colours, left, right):
    skus = [f"{s}-{c}".upper() for s, c in product(sizes, colours)]
    side_by_side = [f"{a or '':<6}|{b or ''}" for a, b in zip_longest(left, right)]
    return {"skus": skus, "table": side_by_side}
''', {"sizes": ["s", "m", "l"], "colours": ["red", "blue"], "left": ["one", "two", "three"], "right": ["uno"]}),

    ("itertools count cycle and repeat", r'''
from itertools import count, cycle, islice, repeat


def solve(names, shifts):
    rota = [f"day {d}: {n}" for d, n in zip(count(1), islice(cycle(names), shifts))]
    padding = list(repeat("-", 3))
    ids = list(islice(count(100, 5), 4))
    return {"rota": rota, "padding": padding, "ids": ids}
''', {"names": ["ann", "bob", "cy"], "shifts": 7}),

    ("itertools takewhile dropwhile header skipping", r'''
from itertools import dropwhile, takewhile


def solve(report):
    lines = report.splitlines()
    header = list(takewhile(lambda l: not l.startswith("---"), lines))
    body = list(dropwhile(lambda l: not l.startswith("---"), lines))[1:]
    rows = [l.split() for l in takewhile(lambda l: l.strip() != "", body)]
    return {"header": header, "rows": rows}
''', {"report": "Quarterly report\nGenerated 2024-04-01\n---\nnorth 10\nsouth 7\n\nfootnote\n"}),

    ("itertools starmap and compress", r'''
from itertools import compress, starmap


def solve(items, flags):
    totals = list(starmap(lambda qty, price: round(qty * price, 2), [(i["qty"], i["price"]) for i in items]))
    selected = list(compress([i["name"] for i in items], flags))
    return {"totals": totals, "selected": selected, "selected_total": round(sum(compress(totals, flags)), 2)}
''', {"items": [{"name": "a", "qty": 2, "price": 1.25}, {"name": "b", "qty": 1, "price": 9.99}, {"name": "c", "qty": 4, "price": 0.5}],
      "flags": [1, 0, 1]}),

    ("itertools groupby sorted by date month", r'''
from itertools import groupby


def solve(transactions):
    ordered = sorted(transactions, key=lambda t: t["date"])
    report = []
    for month, group in groupby(ordered, key=lambda t: t["date"][:7]):
        rows = list(group)
        report.append({"month": month, "count": len(rows),
                       "income": sum(t["amount"] for t in rows if t["amount"] > 0),
                       "spend": -sum(t["amount"] for t in rows if t["amount"] < 0)})
    return report
''', {"transactions": [{"date": "2024-02-03", "amount": -20}, {"date": "2024-01-15", "amount": 1000},
                       {"date": "2024-01-20", "amount": -250}, {"date": "2024-02-28", "amount": 50}, {"date": "2024-01-02", "amount": -5}]}),

    ("itertools tee lookahead", r'''
from itertools import tee


def solve(prices):
    a, b = tee(prices)
    next(b, None)
    signals = []
    for i, (today, tomorrow) in enumerate(zip(a, b)):
        if tomorrow > today * 1.05:
            signals.append({"day": i, "signal": "buy"})
        elif tomorrow < today * 0.95:
            signals.append({"day": i, "signal": "sell"})
    return signals
''', {"prices": [100, 107, 106, 99, 100, 110]}),

    ("itertools accumulate with max and initial", r'''
from itertools import accumulate


def solve(deposits):
    balance = list(accumulate(deposits, initial=0))
    peak = list(accumulate(balance, max))
    drawdown = [p - b for p, b in zip(peak, balance)]
    product = list(accumulate([1 + r for r in [0.1, -0.2, 0.05]], lambda a, b: round(a * b, 4)))
    return {"balance": balance, "peak": peak, "max_drawdown": max(drawdown), "growth": product}
''', {"deposits": [100, -30, 50, -120, 40, 80]}),

    # --- functools ----------------------------------------------------------------------------------
    ("functools reduce merge dicts", r'''
from functools import reduce


def solve(dicts):
    merged = reduce(lambda acc, d: {**acc, **d}, dicts, {})
    total = reduce(lambda a, b: a + b, (d.get("n", 0) for d in dicts), 0)
    longest = reduce(lambda a, b: a if len(a) >= len(b) else b, [d.get("name", "") for d in dicts])
    return {"merged": merged, "total": total, "longest": longest}
''', {"dicts": [{"name": "a", "n": 1}, {"n": 5, "x": True}, {"name": "abc"}]}),

    ("functools partial formatting helpers", r'''
from functools import partial


def fmt_money(value, currency="EUR", places=2, european=False):
    s = f"{value:,.{places}f}"
    if european:
        s = s.replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{s} {currency}"


def solve(values):
    eur = partial(fmt_money, currency="EUR", european=True)
    usd = partial(fmt_money, currency="USD")
    yen = partial(fmt_money, currency="JPY", places=0)
    return [{"eur": eur(v), "usd": usd(v), "yen": yen(v)} for v in values]
''', {"values": [1234.5, 0.99, 1000000]}),

    ("functools lru cache edit distance", r'''
from functools import lru_cache


def solve(pairs):
    out = []
    for a, b in pairs:
        @lru_cache(maxsize=None)
        def dist(i, j):
            if i == 0:
                return j
            if j == 0:
                return i
            cost = 0 if a[i - 1] == b[j - 1] else 1
            return min(dist(i - 1, j) + 1, dist(i, j - 1) + 1, dist(i - 1, j - 1) + cost)

        out.append({"a": a, "b": b, "distance": dist(len(a), len(b))})
    return out
''', {"pairs": [["kitten", "sitting"], ["flaw", "lawn"], ["", "abc"], ["same", "same"]]}),

    ("functools cache integer partitions", r'''
import functools


@functools.cache
def partitions(n, largest):
    if n == 0:
        return 1
    if n < 0 or largest == 0:
        return 0
    return partitions(n - largest, largest) + partitions(n, largest - 1)


def solve(ns):
    return {str(n): partitions(n, n) for n in ns}
''', {"ns": [1, 5, 10, 30]}),

    ("functools cmp to key custom ordering", r'''
from functools import cmp_to_key


def compare(a, b):
    ab, ba = a + b, b + a
    return -1 if ab > ba else 1 if ab < ba else 0


def by_suit_then_rank(x, y):
    suits = "SHDC"
    ranks = "23456789TJQKA"
    kx = (suits.index(x[1]), -ranks.index(x[0]))
    ky = (suits.index(y[1]), -ranks.index(y[0]))
    return (kx > ky) - (kx < ky)


def solve(numbers, cards):
    largest = "".join(sorted((str(n) for n in numbers), key=cmp_to_key(compare)))
    return {"largest_number": largest.lstrip("0") or "0", "hand": sorted(cards, key=cmp_to_key(by_suit_then_rank))}
''', {"numbers": [3, 30, 34, 5, 9], "cards": ["TD", "AS", "2S", "KH", "3C", "QH"]}),

    ("functools reduce pipeline composition", r'''
from functools import reduce


def compose(*funcs):
    return reduce(lambda f, g: lambda x: g(f(x)), funcs, lambda x: x)


def solve(names):
    clean = compose(str.strip, str.lower, lambda s: " ".join(s.split()), str.title)
    initials = compose(clean, lambda s: "".join(w[0] for w in s.split()))
    return [{"clean": clean(n), "initials": initials(n)} for n in names]
''', {"names": ["  ada   LOVELACE ", "grace hopper", "ALAN  mathison TURING"]}),

    ("functools lru cache decorator with args", r'''
import functools


@functools.lru_cache(maxsize=128)
def shipping_cost(weight_kg, zone):
    base = {"domestic": 4.5, "eu": 9.0, "world": 19.0}[zone]
    extra = max(0, weight_kg - 1) * {"domestic": 1.0, "eu": 2.5, "world": 6.0}[zone]
    return round(base + extra, 2)


def solve(parcels):
    costs = [shipping_cost(p["kg"], p["zone"]) for p in parcels]
    info = shipping_cost.cache_info()
    return {"costs": costs, "total": round(sum(costs), 2), "distinct_lookups": info.currsize}
''', {"parcels": [{"kg": 2, "zone": "eu"}, {"kg": 0.5, "zone": "domestic"}, {"kg": 2, "zone": "eu"}, {"kg": 5, "zone": "world"}]}),

    ("functools partial with sorted and map", r'''
from functools import partial


def scale(value, factor, offset=0):
    return round(value * factor + offset, 2)


def solve(celsius, rows):
    to_f = partial(scale, factor=9 / 5, offset=32)
    by_field = partial(sorted, key=lambda r: r["score"], reverse=True)
    return {"fahrenheit": list(map(to_f, celsius)), "ranked": [r["name"] for r in by_field(rows)]}
''', {"celsius": [-40, 0, 36.6, 100], "rows": [{"name": "a", "score": 3}, {"name": "b", "score": 9}, {"name": "c", "score": 5}]}),
    # --- textwrap -----------------------------------------------------------------------------------
    ("textwrap wrap paragraphs to width", r'''
import textwrap


def solve(text, width):
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    wrapped = [textwrap.fill(" ".join(p.split()), width=width) for p in paragraphs]
    return {"text": "\n\n".join(wrapped), "max_line": max(len(l) for w in wrapped for l in w.splitlines())}
''', {"text": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n\n"
              "Ut enim ad   minim veniam,\nquis nostrud exercitation.", "width": 28}),

    ("textwrap dedent and indent code block", r'''
import textwrap


def solve(snippet, prefix):
    body = textwrap.dedent(snippet).strip("\n")
    quoted = textwrap.indent(body, prefix)
    only_code = textwrap.indent(body, "    ", lambda line: not line.lstrip().startswith("#"))
    return {"dedented": body.splitlines(), "quoted": quoted.splitlines(), "selective": only_code.splitlines()}
''', {"snippet": "\n        # comment\n        def f(x):\n            return x * 2\n", "prefix": "> "}),

    ("textwrap shorten titles", r'''
import textwrap


def solve(titles, width):
    out = []
    for t in titles:
        short = textwrap.shorten(t, width=width, placeholder="…")
        out.append({"title": short, "truncated": short != " ".join(t.split())})
    return out
''', {"titles": ["A very long title about data processing in Python", "Short", "Supercalifragilisticexpialidocious words here"],
      "width": 25}),

    ("textwrap wrapper with hanging indent", r'''
import textwrap


def solve(items, width):
    out = []
    for i, text in enumerate(items, 1):
        marker = f"{i}. "
        w = textwrap.TextWrapper(width=width, initial_indent=marker, subsequent_indent=" " * len(marker),
                                 break_long_words=False)
        out.extend(w.wrap(text))
    return out
''', {"items": ["Install the package with pip and check the version number printed.", "Run it.",
                "Read the documentation at https://example.com/a/very/long/url/that/should/not/break"], "width": 30}),

    ("textwrap email reply quoting", r'''
import textwrap


def solve(original, author, width):
    lines = []
    for para in original.split("\n\n"):
        lines.extend(textwrap.wrap(para, width - 2) or [""])
        lines.append("")
    quoted = textwrap.indent("\n".join(lines).rstrip(), "> ", lambda l: True)
    return f"On Monday, {author} wrote:\n{quoted}"
''', {"original": "Hi team, the deploy is scheduled for Friday evening after the freeze ends.\n\nThanks, Ann",
      "author": "Ann", "width": 40}),

    # --- unicodedata --------------------------------------------------------------------------------
    ("unicodedata strip accents slugify", r'''
import re
import unicodedata


def slugify(text, sep="-"):
    norm = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in norm if not unicodedata.combining(c))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", sep, ascii_text).strip(sep)


def solve(titles):
    return {t: slugify(t) for t in titles}
''', {"titles": ["Crème Brûlée Recipe!", "Ångström & Ørsted", "  Hello,   World  ", "Straße nach Zürich", "ﬁve ½ ①"]}),

    ("unicodedata categories of characters", r'''
import unicodedata
from collections import Counter


def solve(text):
    cats = Counter(unicodedata.category(c) for c in text)
    names = [unicodedata.name(c, "?") for c in text if not c.isascii()]
    major = Counter(cat[0] for cat in cats.elements())
    return {"categories": dict(sorted(cats.items())), "major": dict(sorted(major.items())), "non_ascii_names": names}
''', {"text": "Héllo, wörld! 123 €5 ✓"}),

    ("unicodedata normalise compare forms", r'''
import unicodedata


def solve(pairs):
    out = []
    for a, b in pairs:
        out.append({
            "raw_equal": a == b,
            "nfc_equal": unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b),
            "nfkc_equal": unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold(),
            "lengths": [len(a), len(b), len(unicodedata.normalize("NFD", a))],
        })
    return out
''', {"pairs": [["café", "cafe\u0301"], ["ﬁle", "file"], ["Straße", "STRASSE"], ["①", "1"]]}),

    ("unicodedata numeric values of digits", r'''
import unicodedata


def solve(strings):
    out = {}
    for s in strings:
        total = 0
        for ch in s:
            value = unicodedata.numeric(ch, None)
            if value is not None:
                total += value
        out[s] = {"sum": total, "decimal_digits": "".join(str(unicodedata.decimal(c)) for c in s if unicodedata.decimal(c, None) is not None)}
    return out
''', {"strings": ["١٢٣", "½ + ¾", "७ apples", "Ⅻ", "42"]}),

    ("unicodedata east asian width padding", r'''
import unicodedata


def display_width(s):
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 0 if unicodedata.combining(c) else 1 for c in s)


def pad(s, width):
    return s + " " * max(0, width - display_width(s))


def solve(rows):
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["|".join(pad(cell, w) for cell, w in zip(r, widths)) for r in rows]
''', {"rows": [["name", "city"], ["山田太郎", "東京"], ["Zoë", "Paris"], ["e\u0301", "x"]]}),

    # --- string -------------------------------------------------------------------------------------
    ("string template mail merge", r'''
from string import Template


def solve(template, customers):
    t = Template(template)
    letters = []
    for c in customers:
        try:
            letters.append(t.substitute(c))
        except KeyError as e:
            letters.append(t.safe_substitute(c) + f" [missing {e.args[0]}]")
    return letters
''', {"template": "Dear $name, your order #${order}x is $status.",
      "customers": [{"name": "Ann", "order": 12, "status": "shipped"}, {"name": "Bob", "order": 7}]}),

    ("string constants password checks", r'''
import string


def solve(candidates):
    out = []
    for pw in candidates:
        classes = {
            "lower": any(c in string.ascii_lowercase for c in pw),
            "upper": any(c in string.ascii_uppercase for c in pw),
            "digit": any(c in string.digits for c in pw),
            "punct": any(c in string.punctuation for c in pw),
        }
        invalid = sorted({c for c in pw if c not in string.printable or c in string.whitespace})
        out.append({"pw": pw, "classes": sum(classes.values()), "invalid": invalid})
    return out
''', {"candidates": ["hunter2", "Tr0ub4dor&3", "with space", "ÜberSecret1!"]}),

    ("string capwords and translate", r'''
import string


def solve(lines):
    strip_punct = str.maketrans("", "", string.punctuation)
    leet = str.maketrans("aeiost", "431057")
    return [{"title": string.capwords(l), "clean": l.translate(strip_punct), "leet": l.lower().translate(leet)}
            for l in lines]
''', {"lines": ["hello   world, it's me!", "the quick-brown fox"]}),

    ("string caesar cipher with ascii letters", r'''
import string


def shift_table(n):
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    return str.maketrans(lower + upper, lower[n:] + lower[:n] + upper[n:] + upper[:n])


def solve(message, shift):
    enc = message.translate(shift_table(shift % 26))
    dec = enc.translate(shift_table(-shift % 26))
    return {"encoded": enc, "decoded": dec, "roundtrip": dec == message}
''', {"message": "Attack at Dawn! Zebra-42", "shift": 3}),

    ("string template custom delimiter subclass", r'''
from string import Template


class PercentTemplate(Template):
    delimiter = "%"


def solve(text, values):
    return {"dollar": Template(text.replace("%", "$")).safe_substitute(values),
            "percent": PercentTemplate(text).safe_substitute(values)}
''', {"text": "Hi %who, you owe %amount EUR (ref %ref).", "values": {"who": "Ann", "amount": "12.50"}}),

    # --- html ---------------------------------------------------------------------------------------
    ("html escape table rendering", r'''
import html


def solve(rows):
    out = ["<table>"]
    for r in rows:
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in r)
        out.append(f"  <tr>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)
''', {"rows": [["<b>bold</b>", "Tom & Jerry"], ["\"quoted\"", "it's"]]}),

    ("html unescape entities in scraped text", r'''
import html
import re


def solve(snippets):
    out = []
    for s in snippets:
        text = re.sub(r"<[^>]+>", " ", s)
        text = html.unescape(text)
        out.append(" ".join(text.split()))
    return out
''', {"snippets": ["<p>Caf&eacute; &amp; Bar &ndash; open&nbsp;now</p>", "<li>5 &lt; 7 &gt; 3</li><li>&#8364;10 &#x263A;</li>"]}),

    ("html build attributes safely", r'''
import html


def tag(name, text, **attrs):
    attr_text = "".join(f' {k.replace("_", "-")}="{html.escape(str(v), quote=True)}"' for k, v in sorted(attrs.items()))
    return f"<{name}{attr_text}>{html.escape(text, quote=False)}</{name}>"


def solve(links):
    return [tag("a", l["label"], href=l["url"], title=l.get("title", l["label"]), data_id=l["id"]) for l in links]
''', {"links": [{"label": "Q&A", "url": "/search?q=a&b=\"c\"", "id": 1}, {"label": "<script>", "url": "/x", "id": 2, "title": "it's"}]}),

    ("html strip tags keep links", r'''
import html
import re


def solve(fragment):
    links = [{"text": html.unescape(t), "href": html.unescape(h)}
             for h, t in re.findall(r'<a\s+[^>]*href="([^"]*)"[^>]*>(.*?)</a>', fragment, re.S | re.I)]
    text = re.sub(r"<(script|style)\b.*?</\1>", "", fragment, flags=re.S | re.I)
    text = re.sub(r"<br\s*/?>|</p>", "\n", text, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [" ".join(l.split()) for l in text.splitlines()]
    return {"text": [l for l in lines if l], "links": links}
''', {"fragment": "<p>Hello <b>there</b>,<br>see <a href=\"/docs?a=1&amp;b=2\">the docs</a>.</p>"
                  "<script>var x = 1;</script><p>Bye &copy; 2024</p>"}),

    # --- urllib.parse -------------------------------------------------------------------------------
    ("urlparse components and query", r'''
from urllib.parse import urlparse, parse_qs


def solve(urls):
    out = []
    for u in urls:
        p = urlparse(u)
        out.append({"scheme": p.scheme, "host": p.hostname, "port": p.port, "path": p.path,
                    "query": {k: v for k, v in sorted(parse_qs(p.query).items())}, "fragment": p.fragment})
    return out
''', {"urls": ["https://User@Example.com:8443/a/b;x?q=1&q=2&empty=&t=%20x#top", "http://localhost/search?term=caf%C3%A9", "mailto:ann@x.io"]}),

    ("urlencode and quote building links", r'''
from urllib.parse import urlencode, quote, quote_plus


def solve(base, params, path_parts):
    path = "/".join(quote(p, safe="") for p in path_parts)
    query = urlencode(sorted(params.items()), doseq=True)
    return {"url": f"{base}/{path}?{query}", "plus": quote_plus("a b&c=d/é"), "quote": quote("a b&c=d/é")}
''', {"base": "https://api.example.com", "params": {"q": "rock & roll", "page": 2, "tags": ["a", "b c"]},
      "path_parts": ["files", "my report (final).pdf"]}),

    ("urljoin relative links resolution", r'''
from urllib.parse import urljoin, urldefrag


def solve(base, hrefs):
    out = {}
    for h in hrefs:
        full = urljoin(base, h)
        url, frag = urldefrag(full)
        out[h] = {"url": url, "fragment": frag}
    return out
''', {"base": "https://example.com/docs/guide/index.html",
      "hrefs": ["intro.html", "../api/", "/about", "#section-2", "//cdn.example.com/x.js", "https://other.org/?a=1#b"]}),

    ("url normalise tracking params", r'''
from urllib.parse import urlsplit, urlunsplit, parse_qsl, urlencode

TRACKING = ("utm_", "fbclid", "gclid")


def clean(url):
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith(TRACKING)]
    netloc = parts.netloc.lower()
    if netloc.startswith("www."):
        netloc = netloc[4:]
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(sorted(query)), ""))


def solve(urls):
    cleaned = [clean(u) for u in urls]
    return {"cleaned": cleaned, "unique": sorted(set(cleaned))}
''', {"urls": ["HTTPS://WWW.Shop.com/item/42/?utm_source=x&color=red", "https://shop.com/item/42?color=red&fbclid=abc#reviews",
               "https://shop.com/item/42?size=&color=red"]}),

    ("unquote form posted body", r'''
from urllib.parse import parse_qs, unquote, unquote_plus


def solve(body, path):
    fields = parse_qs(body, keep_blank_values=True)
    flat = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    return {"fields": flat, "path": unquote(path), "manual": [unquote_plus(p.split("=", 1)[1]) for p in body.split("&")]}
''', {"body": "name=Zo%C3%AB+Smith&email=z%40x.io&tags=a&tags=b&note=", "path": "/files/r%C3%A9sum%C3%A9%20v2.pdf"}),

    ("url parse query for pagination", r'''
from urllib.parse import urlparse, parse_qs, urlencode, urlunparse


def next_page(url):
    p = urlparse(url)
    q = parse_qs(p.query)
    page = int(q.get("page", ["1"])[0])
    q["page"] = [str(page + 1)]
    return urlunparse((p.scheme, p.netloc, p.path, p.params, urlencode(q, doseq=True), p.fragment))


def solve(urls):
    return [next_page(u) for u in urls]
''', {"urls": ["https://x.io/list?page=3&sort=name", "https://x.io/list", "https://x.io/s?q=a+b&page=1&q=c"]}),

    # --- base64 -------------------------------------------------------------------------------------
    ("base64 encode decode roundtrip", r'''
import base64


def solve(texts):
    out = []
    for t in texts:
        raw = t.encode("utf-8")
        std = base64.b64encode(raw).decode("ascii")
        url = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        padded = url + "=" * (-len(url) % 4)
        out.append({"std": std, "urlsafe": url, "back": base64.urlsafe_b64decode(padded).decode("utf-8")})
    return out
''', {"texts": ["hello", "ünïcödé ✓", "??>>"]}),

    ("base64 decode basic auth header", r'''
import base64


class AuthError(ValueError):
    pass


def parse_basic(header):
    scheme, sep, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise AuthError("not basic auth")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:
        raise AuthError("bad encoding") from None
    user, colon, password = decoded.partition(":")
    if not colon:
        raise AuthError("no colon")
    return {"user": user, "password_length": len(password)}


def solve(headers):
    out = []
    for h in headers:
        try:
            out.append(parse_basic(h))
        except AuthError as e:
            out.append({"error": str(e)})
    return out
''', {"headers": ["Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer abc", "Basic !!!notb64", "Basic dXNlcm9ubHk="]}),

    ("base64 jwt payload inspection", r'''
import base64
import json


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def solve(token):
    header_b64, payload_b64, signature = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    payload = json.loads(b64url_decode(payload_b64))
    return {"alg": header.get("alg"), "claims": payload, "signature_bytes": len(b64url_decode(signature))}
''', {"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"}),

    ("base64 b32 and hex encodings", r'''
import base64


def solve(data):
    raw = data.encode("latin-1")
    return {
        "b16": base64.b16encode(raw).decode(),
        "b32": base64.b32encode(raw).decode(),
        "b85": base64.b85encode(raw).decode(),
        "hex": raw.hex(),
        "b32_back": base64.b32decode(base64.b32encode(raw)).decode("latin-1"),
    }
''', {"data": "Grüße"}),

    ("base64 data uri builder", r'''
import base64


def solve(files):
    out = []
    for f in files:
        payload = f["text"].encode(f.get("encoding", "utf-8"))
        b64 = base64.b64encode(payload).decode("ascii")
        uri = f"data:{f['mime']};charset={f.get('encoding', 'utf-8')};base64,{b64}"
        out.append({"uri": uri, "bytes": len(payload), "overhead": round(len(b64) / len(payload), 3)})
    return out
''', {"files": [{"mime": "text/plain", "text": "hello world"}, {"mime": "text/csv", "text": "a;b\nä;ö\n", "encoding": "cp1252"}]}),

    # --- heapq --------------------------------------------------------------------------------------
    ("heapq top k products", r'''
import heapq


def solve(products, k):
    best = heapq.nlargest(k, products, key=lambda p: (p["rating"], -p["price"]))
    cheap = heapq.nsmallest(k, products, key=lambda p: p["price"])
    return {"best": [p["name"] for p in best], "cheapest": [p["name"] for p in cheap]}
''', {"products": [{"name": "a", "rating": 4.5, "price": 20}, {"name": "b", "rating": 4.9, "price": 35},
                   {"name": "c", "rating": 4.5, "price": 15}, {"name": "d", "rating": 3.0, "price": 5}], "k": 2}),

    ("heapq dijkstra shortest path", r'''
import heapq


def solve(edges, start, goal):
    graph = {}
    for a, b, w in edges:
        graph.setdefault(a, []).append((b, w))
        graph.setdefault(b, []).append((a, w))
    heap = [(0, start, [start])]
    seen = set()
    while heap:
        cost, node, path = heapq.heappop(heap)
        if node in seen:
            continue
        seen.add(node)
        if node == goal:
            return {"cost": cost, "path": path}
        for nxt, w in graph.get(node, []):
            if nxt not in seen:
                heapq.heappush(heap, (cost + w, nxt, path + [nxt]))
    return {"cost": None, "path": []}
''', {"edges": [["A", "B", 4], ["A", "C", 2], ["C", "B", 1], ["B", "D", 5], ["C", "D", 8], ["D", "E", 3]], "start": "A", "goal": "E"}),

    ("heapq merge sorted feeds", r'''
import heapq


def solve(feeds, limit):
    streams = [sorted(f["items"], key=lambda i: i["ts"]) for f in feeds]
    merged = heapq.merge(*streams, key=lambda i: i["ts"])
    out = []
    for item in merged:
        out.append(f"{item['ts']} {item['title']}")
        if len(out) == limit:
            break
    return out
''', {"feeds": [{"items": [{"ts": 5, "title": "a5"}, {"ts": 1, "title": "a1"}]},
                {"items": [{"ts": 2, "title": "b2"}, {"ts": 9, "title": "b9"}]}, {"items": [{"ts": 3, "title": "c3"}]}], "limit": 4}),

    ("heapq scheduling meeting rooms", r'''
import heapq


def solve(meetings):
    meetings = sorted(meetings, key=lambda m: m["start"])
    rooms = []
    assignment = {}
    free_ids = []
    next_id = 0
    for m in meetings:
        while rooms and rooms[0][0] <= m["start"]:
            end, rid = heapq.heappop(rooms)
            heapq.heappush(free_ids, rid)
        if free_ids:
            rid = heapq.heappop(free_ids)
        else:
            rid = next_id
            next_id += 1
        heapq.heappush(rooms, (m["end"], rid))
        assignment[m["name"]] = rid
    return {"rooms_needed": next_id, "assignment": assignment}
''', {"meetings": [{"name": "standup", "start": 9, "end": 10}, {"name": "design", "start": 9.5, "end": 11},
                   {"name": "lunch", "start": 12, "end": 13}, {"name": "1:1", "start": 10, "end": 10.5}]}),

    ("heapq running median", r'''
import heapq


def solve(stream):
    low, high = [], []
    medians = []
    for x in stream:
        heapq.heappush(low, -x)
        heapq.heappush(high, -heapq.heappop(low))
        if len(high) > len(low):
            heapq.heappush(low, -heapq.heappop(high))
        medians.append(-low[0] if len(low) > len(high) else (-low[0] + high[0]) / 2)
    return medians
''', {"stream": [5, 15, 1, 3, 8, 7, 9, 10]}),

    # --- bisect -------------------------------------------------------------------------------------
    ("bisect grade boundaries", r'''
from bisect import bisect


def solve(scores, breakpoints, grades):
    return {str(s): grades[bisect(breakpoints, s)] for s in scores}
''', {"scores": [33, 99, 77, 70, 89, 90, 100], "breakpoints": [60, 70, 80, 90], "grades": "FDCBA"}),

    ("bisect insort keep sorted leaderboard", r'''
import bisect


def solve(events):
    board = []
    for name, score in events:
        bisect.insort(board, (-score, name))
    ranks = {name: i + 1 for i, (s, name) in enumerate(board)}
    return {"top3": [[n, -s] for s, n in board[:3]], "ranks": ranks}
''', {"events": [["ann", 50], ["bob", 70], ["cy", 50], ["di", 90], ["ed", 10]]}),

    ("bisect tax bracket lookup by income", r'''
import bisect


def solve(incomes, thresholds, rates):
    out = {}
    for inc in incomes:
        i = bisect.bisect_right(thresholds, inc)
        out[str(inc)] = {"band": i, "marginal_rate": rates[i]}
    return out
''', {"incomes": [0, 12570, 12571, 50270, 125140, 200000], "thresholds": [12570, 50270, 125140], "rates": [0, 0.2, 0.4, 0.45]}),

    ("bisect find timestamps in range", r'''
from bisect import bisect_left, bisect_right


def solve(timestamps, ranges):
    ts = sorted(timestamps)
    out = []
    for lo, hi in ranges:
        i, j = bisect_left(ts, lo), bisect_right(ts, hi)
        out.append({"range": [lo, hi], "count": j - i, "items": ts[i:j]})
    return out
''', {"timestamps": [105, 100, 230, 180, 181, 300, 299], "ranges": [[100, 180], [181, 181], [400, 500]]}),

    ("bisect with key on records", r'''
import bisect


def solve(price_points, quantities):
    tiers = sorted(price_points, key=lambda t: t["min_qty"])
    out = []
    for q in quantities:
        i = bisect.bisect_right(tiers, q, key=lambda t: t["min_qty"]) - 1
        tier = tiers[max(i, 0)]
        out.append({"qty": q, "unit": tier["unit"], "total": round(q * tier["unit"], 2)})
    return out
''', {"price_points": [{"min_qty": 100, "unit": 0.8}, {"min_qty": 1, "unit": 1.0}, {"min_qty": 10, "unit": 0.9}],
      "quantities": [1, 9, 10, 250]}),

    # --- math and cmath -----------------------------------------------------------------------------
    ("math haversine distances", r'''
import math


def haversine(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def solve(cities):
    names = sorted(cities)
    return {f"{a}-{b}": round(haversine(cities[a], cities[b]), 1) for i, a in enumerate(names) for b in names[i + 1:]}
''', {"cities": {"berlin": [52.52, 13.405], "paris": [48.8566, 2.3522], "oslo": [59.9139, 10.7522]}}),

    ("math gcd lcm and number theory", r'''
import math


def solve(numbers):
    return {
        "gcd": math.gcd(*numbers),
        "lcm": math.lcm(*numbers),
        "isqrt": [math.isqrt(n) for n in numbers],
        "perfect_squares": [n for n in numbers if math.isqrt(n) ** 2 == n],
        "factorial_digits": len(str(math.factorial(20))),
        "comb": math.comb(10, 3),
        "perm": math.perm(5, 2),
        "prod": math.prod(numbers),
    }
''', {"numbers": [12, 36, 48, 144]}),

    ("math rounding modes and isclose", r'''
import math


def solve(values):
    rows = []
    for v in values:
        rows.append({"v": v, "floor": math.floor(v), "ceil": math.ceil(v), "trunc": math.trunc(v),
                     "round": round(v), "round1": round(v, 1)})
    return {"rows": rows, "fsum": math.fsum([0.1] * 10), "plain_sum": sum([0.1] * 10),
            "close": math.isclose(sum([0.1] * 10), 1.0), "copysign": math.copysign(3, -0.0)}
''', {"values": [2.5, -2.5, 3.45, -0.5, 7.999]}),

    ("math loan amortisation payment", r'''
import math


def solve(principal, annual_rate, years):
    r = annual_rate / 12
    n = years * 12
    payment = principal * r / (1 - math.pow(1 + r, -n)) if r else principal / n
    months_to_half = math.ceil(math.log(1 - (principal / 2) * r / payment) / math.log(1 + r) * -1) if r else n // 2
    return {"payment": round(payment, 2), "total_interest": round(payment * n - principal, 2),
            "months_to_repay_half_principal": months_to_half}
''', {"principal": 200000, "annual_rate": 0.04, "years": 25}),

    ("math statistics by hand with log scale", r'''
import math


def solve(values):
    logs = [math.log10(v) for v in values if v > 0]
    geo = 10 ** (sum(logs) / len(logs))
    buckets = {}
    for v in values:
        key = f"1e{math.floor(math.log10(v))}" if v > 0 else "nonpositive"
        buckets[key] = buckets.get(key, 0) + 1
    return {"geometric_mean": round(geo, 4), "buckets": dict(sorted(buckets.items())),
            "magnitude_range": math.floor(max(logs)) - math.floor(min(logs)), "e": round(math.e, 5), "inf": math.isinf(1e308 * 10)}
''', {"values": [3, 45, 120, 9800, 0.5, 0, 77777]}),

    ("cmath quadratic roots", r'''
import cmath


def solve(equations):
    out = []
    for a, b, c in equations:
        d = cmath.sqrt(b * b - 4 * a * c)
        roots = [(-b + d) / (2 * a), (-b - d) / (2 * a)]
        out.append([[round(r.real, 4), round(r.imag, 4)] for r in roots])
    mag, angle = cmath.polar(complex(1, 1))
    return {"roots": out, "polar": [round(mag, 4), round(math_deg(angle), 1)]}


def math_deg(rad):
    return rad * 180 / cmath.pi
''', {"equations": [[1, -3, 2], [1, 2, 5], [2, 4, 2]]}),

    # --- small realistic utilities -------------------------------------------------------------------
    ("slugify titles simple", r'''
import re


def slugify(title, max_len=40):
    s = title.lower().strip()
    s = re.sub(r"['’]", "", s)
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    if len(s) > max_len:
        s = s[:max_len].rsplit("-", 1)[0]
    return s


def solve(titles):
    seen = {}
    out = []
    for t in titles:
        base = slugify(t)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(base if n == 0 else f"{base}-{n + 1}")
    return out
''', {"titles": ["Hello World!", "What's new in Python 3.12?", "hello world", "A very, very long title that keeps going and going"]}),

    ("parse receipt text totals", r'''
import re


def solve(receipt):
    items = []
    for line in receipt.splitlines():
        m = re.match(r"^\s*(?P<name>[A-Za-z][\w .&'-]*?)\s+(?P<amount>-?\d+[.,]\d{2})\s*(?P<flag>[A-Z])?\s*$", line)
        if m and not re.match(r"(?i)(sub)?total|tax|vat|change|cash|card", m.group("name")):
            items.append({"name": m.group("name").strip(), "amount": float(m.group("amount").replace(",", ".")),
                          "tax_class": m.group("flag") or "A"})
    total = re.search(r"(?im)^\s*total\s*:?\s*(\d+[.,]\d{2})", receipt)
    computed = round(sum(i["amount"] for i in items), 2)
    stated = float(total.group(1).replace(",", ".")) if total else None
    return {"items": items, "computed": computed, "stated": stated, "matches": stated == computed}
''', {"receipt": "SUPERMARKT\nBananas 1.29 A\nMilk 0.99\nDiscount -0.20 A\nBread & Butter 3,45 B\nSUBTOTAL 5.53\nTOTAL: 5.53\nCASH 10.00\nCHANGE 4.47\n"}),

    ("normalise phone and email contacts", r'''
import re


def solve(contacts):
    out = []
    for c in contacts:
        email = c.get("email", "").strip().lower() or None
        digits = re.sub(r"\D", "", c.get("phone", ""))
        if digits.startswith("00"):
            digits = digits[2:]
        elif digits.startswith("0"):
            digits = "49" + digits[1:]
        phone = f"+{digits}" if len(digits) >= 8 else None
        name = " ".join(w.capitalize() for w in c.get("name", "").split())
        out.append({"name": name, "email": email, "phone": phone})
    return out
''', {"contacts": [{"name": "ann  LEE", "email": " Ann@X.IO ", "phone": "030 / 1234-567"},
                   {"name": "bob", "phone": "0044 20 7946 0958"}, {"name": "cy", "phone": "12"}]}),

    ("word count report", r'''
import re
from collections import Counter


def solve(text):
    words = re.findall(r"[A-Za-zÀ-ÿ']+", text)
    lower = [w.lower() for w in words]
    counts = Counter(lower)
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    return {
        "words": len(words),
        "unique": len(counts),
        "sentences": len(sentences),
        "avg_word_len": round(sum(map(len, words)) / len(words), 2),
        "top": [[w, n] for w, n in counts.most_common(3)],
        "capitalised": sorted({w for w in words if w[0].isupper()}),
    }
''', {"text": "Paris is lovely. Paris in spring is lovelier! Is it? Café owners say yes."}),

    ("mask credit cards and ibans", r'''
import re


def mask(value):
    compact = re.sub(r"[\s-]", "", value)
    if re.fullmatch(r"\d{13,19}", compact):
        return "•" * (len(compact) - 4) + compact[-4:]
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact.upper()):
        c = compact.upper()
        return c[:4] + "*" * (len(c) - 8) + c[-4:]
    return value


def luhn_ok(number):
    digits = [int(d) for d in re.sub(r"\D", "", number)][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def solve(values):
    return [{"masked": mask(v), "luhn": luhn_ok(v) if re.search(r"\d{4}", v) and not v[:2].isalpha() else None} for v in values]
''', {"values": ["4111 1111 1111 1111", "4111-1111-1111-1112", "DE89 3704 0044 0532 0130 00", "n/a"]}),

    ("bytes encodings roundtrip", r'''
def solve(text):
    out = {}
    for enc in ("utf-8", "utf-16", "latin-1", "cp1252", "ascii"):
        try:
            data = text.encode(enc)
            out[enc] = {"bytes": len(data), "back": data.decode(enc) == text, "head": data[:6].hex()}
        except UnicodeEncodeError as e:
            out[enc] = {"error": f"cannot encode {text[e.start]!r} at {e.start}",
                        "replaced": text.encode(enc, errors="replace").decode(enc)}
    return out
''', {"text": "Café €5"}),

    ("json config with env style overrides", r'''
import json


def set_path(doc, dotted, value):
    keys = dotted.lower().split("__")
    node = doc
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    try:
        node[keys[-1]] = json.loads(value)
    except json.JSONDecodeError:
        node[keys[-1]] = value


def solve(config, env):
    doc = json.loads(config)
    for key, value in sorted(env.items()):
        if key.startswith("APP__"):
            set_path(doc, key[5:], value)
    return doc
''', {"config": '{"db": {"host": "localhost", "port": 5432}, "debug": false}',
      "env": {"APP__DB__PORT": "6543", "APP__DEBUG": "true", "APP__DB__USER": "admin", "HOME": "/root", "APP__CACHE__TTL": "30"}}),
    # --- as models write them: annotations (dropped by the policy), a context manager ----------------
    ("annotated total with decimal context", r'''
import decimal


def solve(amounts: list[str], rate: str) -> str:
    total: decimal.Decimal = decimal.Decimal(0)
    with decimal.localcontext() as context:
        context.prec = 10
        for amount in amounts:
            total += decimal.Decimal(amount) * decimal.Decimal(rate)
    return str(total.quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP))
''', {"amounts": ["10.005", "2.50"], "rate": "1.1"}),
    ("annotated record class", r'''
class Line:
    sku: str
    qty: int

    def __init__(self, sku: str, qty: int) -> None:
        self.sku = sku
        self.qty = qty

    def __repr__(self) -> str:
        return f"{self.sku}x{self.qty}"


def solve(rows: list[dict]) -> list[str]:
    lines: list[Line] = [Line(row["sku"], int(row["qty"])) for row in rows]
    return [repr(line) for line in sorted(lines, key=lambda line: -line.qty)]
''', {"rows": [{"sku": "A", "qty": "2"}, {"sku": "B", "qty": "5"}]}),
    ("annotated parser with custom error", r'''
import re
from datetime import date


class DateError(ValueError):
    pass


def parse(text: str) -> date:
    found = re.search(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if found is None:
        raise DateError(f"no date in {text!r}")
    day, month, year = (int(part) for part in found.groups())
    return date(year, month, day)


def solve(texts: list[str]) -> list:
    out: list = []
    for text in texts:
        try:
            out.append(parse(text).isoformat())
        except DateError as error:
            out.append(str(error))
    return out
''', {"texts": ["Paid 3/4/2024", "none here"]}),
]
