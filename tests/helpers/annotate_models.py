"""A third summarizer for the human-evaluation tests (tests/annotation/): the document's first sentence.

Named on the command line as ``annotate_models:FirstSentence`` (tests/helpers is on the path).
"""

from __future__ import annotations

from bench.models import Model


class FirstSentence(Model):
    """The document's first sentence (up to its first full stop) as its summary."""

    name = "first-sentence"
    task_types = ("summarization",)

    def predict(self, examples, task):
        return [ex.input.split(". ")[0].rstrip(".") + "." for ex in examples]
