"""docs/design.md draws the folder tree: every package and module of the product is in the
drawing, so the picture a newcomer reads is the tree they will find."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def drawn_layout() -> str:
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    return re.search(r"## Layout\n+```\n(.*?)```", design, re.S).group(1)


def test_every_module_of_the_product_is_in_the_drawn_layout():
    drawing = drawn_layout()
    named = set(re.findall(r"[A-Za-z_]+", drawing))
    missing = []
    for package in ("orchestrator", "sandbox", "engine"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name != "__init__.py" and path.stem not in named:
                missing.append(str(path.relative_to(ROOT)))
        for folder in (ROOT / package).rglob("*/"):
            if (folder / "__init__.py").exists() and folder.name not in named:
                missing.append(str(folder.relative_to(ROOT)) + "/")
    assert missing == []


def test_no_module_imports_a_graph_node():
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "orchestrator").rglob("*.py")
                 if "graph" not in path.parts and re.search(r"^\s*from \S*nodes", path.read_text(), re.M)]
    assert offenders == []
