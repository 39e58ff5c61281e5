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


#: Most charts in one row of the figure; a section with more metrics takes several rows.
PER_ROW = 5
ARROW_WORDS = {"higher": " (higher is better)", "lower": " (lower is better)", "none": ""}


def layout(sections: Sequence[Section]) -> list[tuple[Section, list[int | None]]]:
    """Figure rows: (section, the chart of each cell: a metric's index, or None for the speed scatter)."""
    rows: list[tuple[Section, list[int | None]]] = []
    for s in sections:
        charts: list[int | None] = [*range(len(s.metrics)), None]
        rows.extend((s, charts[i:i + PER_ROW]) for i in range(0, len(charts), PER_ROW))
    return rows


def write_png(sections: Sequence[Section], path: Path, *, what: str = "file", hint: str | None = None,
              exit_code: int | None = None) -> None:
    """Bar charts (one per metric, 95% CI error bars) and a quality vs speed scatter per table, as one PNG.

    A section's charts fill rows of at most `PER_ROW`. A value without a CI (a corpus-only value) has no
    error bar, a run without a value no bar, and the reference row's value is a dashed line. Written
    whole or not at all (`bench.io.atomic_path`, whose `what`, `hint` and `exit_code` name a file that
    cannot be written); without matplotlib a `BenchError` that says how to install it.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BenchError("--plot needs matplotlib, which is not installed",
                         hint="pip install 'bench[plot]' (the HTML report, --format html, needs nothing extra)",
                         exit_code=EXIT_ENVIRONMENT) from None
    rows = layout(sections)
    cols = max(len(cells) for _, cells in rows)
    row_h = 1.4 + 0.45 * max(len(s.runs) for s in sections)
    fig, axes = plt.subplots(len(rows), cols, figsize=(3.2 * cols, row_h * len(rows)), squeeze=False)
    try:
        for row, (s, cells) in enumerate(rows):
            for col in range(cols):
                ax = axes[row][col]
                if col >= len(cells):
                    ax.axis("off")
                elif cells[col] is None:
                    speed_scatter(ax, s)
                else:
                    metric_bars(ax, s, cells[col])
        fig.tight_layout()
        with atomic_path(path, what=what, hint=hint, exit_code=exit_code) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def metric_bars(ax: Axes, section: Section, col: int) -> None:
    """Horizontal bars of the section's `col`-th metric, one per run, with 95% CI error bars where the value
    has a CI, and the reference row's value as a dashed line."""
    m = section.metrics[col]
    names = [r.model for r in section.runs]
    for i, r in enumerate(section.runs):
        v = r.metrics.get(m)
        if v is None:
            continue
        lo, hi = r.interval(m)
        err = [[v - lo], [hi - v]] if lo is not None and hi is not None else None
        ax.barh([i], [v], xerr=err, capsize=3, color=BAR_COLOUR)
    ref = section.reference.metrics.get(m) if section.reference is not None else None
    if ref is not None:
        ax.axvline(ref, color="#333333", linestyle="--", linewidth=1, label=f"reference {ref:.2f}")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_yticks(range(len(names)), names if col % PER_ROW == 0 else [""] * len(names))
    ax.set_ylim(len(names) - 0.5, -0.5)
    title = m + ARROW_WORDS.get(section.direction(m), "")
    ax.set_title(f"{section.title}\n{title}" if col == 0 else title, fontsize=9)


def speed_scatter(ax: Axes, section: Section) -> None:
    """The ranking metric (the first with a direction) against examples per second (log scale), one labelled
    point per run."""
    m = section.ranked_by or section.metrics[0]
    pts = [(r.examples_per_s, r.metrics.get(m), r.model) for r in section.runs
           if r.examples_per_s and r.metrics.get(m) is not None]
    for x, y, name in pts:
        ax.scatter([x], [y], color=POINT_COLOUR)
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if pts:
        ax.set_xscale("log")
        ax.margins(x=0.3, y=0.3)
    else:
        ax.text(0.5, 0.5, "no run in this table\nrecords examples/s", ha="center", va="center", fontsize=8,
                transform=ax.transAxes)
    ax.set_xlabel("examples/s (log)", fontsize=8)
    ax.set_ylabel(m, fontsize=8)
    ax.set_title("quality vs speed", fontsize=9)
