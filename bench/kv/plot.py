"""Draw bench/results/kv.png from kv.json: passkey accuracy by context length and needle depth.

One row of panels per protocol (paper, bounded): the full cache once, then StreamingLLM, the
default ladder, the ladder shape tuned for the budget and the ladder with original positions, at
every budget; each a depth x length grid coloured and labelled by accuracy. Needs matplotlib
(`pip install -e .[bench]`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def panels(report: dict) -> list[tuple[str, dict]]:
    """(title, {length: {depth: accuracy}}) per protocol: the full cache, then each policy at each budget."""
    out = []
    for protocol in sorted(report["passkey"], key=lambda name: name != "paper"):  # the paper's test first
        budgets = report["passkey"][protocol]
        first = next(iter(budgets.values()))
        out.append((f"{protocol}: full cache", first["full"]["by_length_depth"]))
        for budget, row in budgets.items():
            chosen = report.get("tuned_ladder", {}).get(budget, {}).get("chosen") if protocol == "paper" else None
            for name, cell in row.items():
                if name in ("streaming", "ladder", "ladder_original", chosen):
                    tuned = " (tuned)" if name == chosen and name != "ladder" else ""
                    out.append((f"{protocol}: {name.replace('_', ' ')}{tuned} @ {budget}", cell["by_length_depth"]))
    return out


def draw(report: dict, path: Path) -> None:
    items = panels(report)
    columns = 4
    rows = -(-len(items) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for axis in axes.flat[len(items):]:
        axis.set_visible(False)
    for axis, (title, cells) in zip(axes.flat, items):
        lengths = sorted(cells, key=int)
        depths = sorted({depth for row in cells.values() for depth in row}, key=float)
        grid = [[cells[length].get(depth, float("nan")) for length in lengths] for depth in depths]
        axis.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto", origin="lower")
        for y, row in enumerate(grid):
            for x, value in enumerate(row):
                axis.text(x, y, f"{value:.2f}", ha="center", va="center", fontsize=9)
        axis.set_xticks(range(len(lengths)), [f"{int(length) // 1024}k" for length in lengths])
        axis.set_yticks(range(len(depths)), depths)
        axis.set_xlabel("context length (tokens)")
        axis.set_ylabel("needle depth")
        axis.set_title(title, fontsize=10)
    figure.suptitle(f"Passkey accuracy, {report['model']} on CPU (paper: {report['settings']['samples']} keys per cell)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "kv.json"
    draw(json.loads(source.read_text()), source.with_suffix(".png"))


if __name__ == "__main__":
    main()
