"""A slow model for interruption tests: the sliding-window baseline, one pause per batch.

Each id it predicts is appended to the file named by BENCH_TEST_PREDICT_LOG, so a
test can tell which examples a resumed run predicted again.
"""

from __future__ import annotations

import os
import time

from bench.models.baselines import SlidingWindow


class SlowSlidingWindow(SlidingWindow):
    name = "slow-sliding-window"
    task_types = ("qa",)
    default_batch_size = 4

    def predict(self, examples, task):
        time.sleep(float(os.environ.get("BENCH_TEST_BATCH_SLEEP", "0.3")))
        out = super().predict(examples, task)
        log = os.environ.get("BENCH_TEST_PREDICT_LOG")
        if log:
            with open(log, "a") as f:
                f.write("".join(ex.id + "\n" for ex in examples))
        return out


class FailingSlidingWindow(SlidingWindow):
    """Raises on the batch holding the example named by BENCH_TEST_FAIL_ON (once the env var is set)."""

    name = "failing-sliding-window"
    task_types = ("qa",)
    default_batch_size = 4

    def predict(self, examples, task):
        bad = os.environ.get("BENCH_TEST_FAIL_ON")
        if bad and any(ex.id == bad for ex in examples):
            raise RuntimeError(f"cannot handle {bad}")
        return super().predict(examples, task)
