"""A model that stops an experiment tracker's server while it predicts, for the tracker tests.

Named on the command line as ``tracker_models:StopsTracker`` (tests/ is on the path). The test that starts the
server puts its process group id in BENCH_TEST_STOP_TRACKER and its health URL in BENCH_TEST_TRACKER_HEALTH; the
model ends that process group and waits until the server no longer answers, then predicts as lead-3 does.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.request

from bench.models.baselines import Lead


class StopsTracker(Lead):
    name = "stops-tracker"

    def predict(self, examples, task):
        pgid = os.environ.get("BENCH_TEST_STOP_TRACKER")
        if pgid:
            os.killpg(int(pgid), signal.SIGTERM)
            for _ in range(300):  # at most 30 s
                try:
                    urllib.request.urlopen(os.environ["BENCH_TEST_TRACKER_HEALTH"], timeout=1)
                except OSError:
                    break
                time.sleep(0.1)
        return super().predict(examples, task)
