"""Plug-in models whose names and predictions are terminal escape sequences, for tests/cli/test_terminal.py.

Named on the command line as ``hostile_models:ClassName`` (tests/helpers is on the path). Each is lead-3 (or
the sliding window) under a hostile name, and `Echo` predicts a hostile text.
"""

from __future__ import annotations

from bench.models.baselines import Lead

#: Text that acts on a terminal when printed raw, and rich markup that must print literally.
PAYLOADS = {
    "clear": "\x1b[2J\x1b[H",
    "title": "\x1b]0;pwned\x07",
    "link": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "c1_csi": "\x9b31mred",
    "bidi": "\u202eevil\u202c",
    "bell": "ding\x07",
    "backspace": "abc\x08\x08\x08xyz",
    "markup": "[red]x[/red]",
}
#: Each payload once, in one string.
ALL = "|".join(PAYLOADS.values())


class HostileName(Lead):
    """lead-3 under a name made of every payload."""

    name = "lead-" + ALL


def _named(key: str) -> type[Lead]:
    return type(f"Name_{key}", (Lead,), {"__doc__": f"lead-3 named after the {key} payload.", "__module__": __name__,
                                         "name": f"m-{PAYLOADS[key]}"})


# Name_clear, Name_title, ...: lead-3 under the name "m-" + one payload (short enough for a table column).
for _key in PAYLOADS:
    globals()[f"Name_{_key}"] = _named(_key)


#: The two lines `HostilePrediction` puts in front of each prediction.
PREDICTION_LINES = (PAYLOADS["clear"] + PAYLOADS["title"] + PAYLOADS["c1_csi"],
                    PAYLOADS["bidi"] + PAYLOADS["backspace"] + PAYLOADS["markup"])


class HostilePrediction(Lead):
    """lead-3 that puts payloads, over two lines (`PREDICTION_LINES`), in front of each prediction."""

    name = "hostile-prediction"

    def predict(self, examples, task):
        first, second = PREDICTION_LINES
        return [f"{first}\n{second} {p}" for p in super().predict(examples, task)]
