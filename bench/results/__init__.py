"""Run records: results directories written, read and checked; provenance; runs and examples as DataFrames.

`runs_df` and `examples_df` (pandas) are imported when first asked for, so importing this package stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["runs_df", "examples_df"]


def __getattr__(name: str) -> Any:
    if name == "runs_df":
        from bench.results.frames import runs_df

        return runs_df
    if name == "examples_df":
        from bench.results.per_example import examples_df

        return examples_df
    raise AttributeError(f"module 'bench.results' has no attribute {name!r}")
