"""A user's own model for bench: the complete example the README shows.

Run it from this directory with

    bench run --model my_models:FirstWords --task seed-summarization

or register it in your package's pyproject.toml:

    [project.entry-points."bench.models"]
    first-words = "my_models:FirstWords"
"""

from bench.models import Model


class FirstWords(Model):
    """The first words of the document as its summary (a toy model)."""

    name = "first-words"
    task_types = ("summarization",)

    def __init__(self, seed: int = 0, n_words: int = 40) -> None:
        self.seed = seed  # run options the class names in __init__ are passed to it
        self.n_words = n_words

    def predict(self, examples, task):
        # One prediction per example, in order: here a summary; for a "qa" task, an answer ("" = no answer).
        return [" ".join(ex.input.split()[:self.n_words]) for ex in examples]

    def describe(self):
        # Recorded in results.json under config.model.
        return {"name": self.name, "n_words": self.n_words}
