"""A plugin model that is interrupted (Ctrl-C) after its first batch, for the tests of what `bench run` says then.

Named on the command line as ``interrupt_models:CtrlCAfterFirstBatch`` (tests/helpers is on the path).
"""

from __future__ import annotations

from bench.models.baselines import SlidingWindow


class CtrlCAfterFirstBatch(SlidingWindow):
    """The sliding-window baseline, with a KeyboardInterrupt on its second batch (as if Ctrl-C was pressed)."""

    default_batch_size = 4

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def predict(self, examples, task):
        self.batches += 1
        if self.batches > 1:
            raise KeyboardInterrupt
        return super().predict(examples, task)
