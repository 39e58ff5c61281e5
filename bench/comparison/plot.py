"""Comparison charts as one PNG (`bench compare --plot`): matplotlib, imported only when a chart is drawn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bench.comparison.select import Section
from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BAR_COLOUR = "#4C72B0"
POINT_COLOUR = "#DD8452"


def write_png(sections: Sequence[Section], path: Path, *, what: str = "file", hint: str | None = None,
              exit_code: int | None = None) -> None:
    """Bar charts (one per metric, 95% CI error bars) and a quality vs speed scatter per table, as one PNG.

    Written whole or not at all (`bench.io.atomic_path`, whose `what`, `hint` and `exit_code` name a
    file that cannot be written); without matplotlib a `BenchError` that says how to install it.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BenchError("--plot needs matplotlib, which is not installed",
                         hint="pip install 'bench[plot]' (the HTML report, --format html, needs nothing extra)",
                         exit_code=EXIT_ENVIRONMENT) from None
    cols = max(len(s.metrics) for s in sections) + 1
    row_h = 1.2 + 0.45 * max(len(s.runs) for s in sections)
    fig, axes = plt.subplots(len(sections), cols, figsize=(3.2 * cols, row_h * len(sections)), squeeze=False)
    try:
        for row, s in enumerate(sections):
            for col in range(cols):
                ax = axes[row][col]
                if col < len(s.metrics):
                    metric_bars(ax, s, col)
                elif col == len(s.metrics):
                    speed_scatter(ax, s)
                else:
                    ax.axis("off")
        fig.tight_layout()
        with atomic_path(path, what=what, hint=hint, exit_code=exit_code) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def metric_bars(ax: Axes, section: Section, col: int) -> None:
    """Horizontal bars of the section's `col`-th metric, one per run, with 95% CI error bars."""
    m = section.metrics[col]
    names = [r.model for r in section.runs]
    vals = [r.metrics.get(m) or 0.0 for r in section.runs]
    lo = [v - (r.ci[m][0] if r.ci[m][0] is not None else v) for v, r in zip(vals, section.runs)]
    hi = [(r.ci[m][1] if r.ci[m][1] is not None else v) - v for v, r in zip(vals, section.runs)]
    ax.barh(range(len(names)), vals, xerr=[lo, hi], capsize=3, color=BAR_COLOUR)
    ax.set_yticks(range(len(names)), names if col == 0 else [""] * len(names))
    ax.invert_yaxis()
    ax.set_title(f"{section.title}\n{m}" if col == 0 else m, fontsize=9)


def speed_scatter(ax: Axes, section: Section) -> None:
    """The first metric against examples per second (log scale), one labelled point per run."""
    m = section.metrics[0]
    pts = [(r.examples_per_s, r.metrics.get(m), r.model) for r in section.runs
           if r.examples_per_s and r.metrics.get(m) is not None]
    for x, y, name in pts:
        ax.scatter([x], [y], color=POINT_COLOUR)
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if pts:
        ax.set_xscale("log")
        ax.margins(x=0.3, y=0.3)
    ax.set_xlabel("examples/s (log)", fontsize=8)
    ax.set_ylabel(m, fontsize=8)
    ax.set_title("quality vs speed", fontsize=9)
