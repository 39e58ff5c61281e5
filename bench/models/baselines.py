"""Baselines that need no download. None of them ever looks at the references.

- `lead-3`: the first sentences of the document (three, or as many as the
  task's `summary_sentences` asks for: lead-1 for headlines). See, e.g.,
  See et al. (2017) for Lead-3 on CNN/DailyMail.
- `textrank`: extractive summary by TextRank (Mihalcea & Tarau, 2004): a graph
  of sentences weighted by normalized word overlap, ranked by PageRank; the
  top sentences are returned in document order.
- `sliding-window`: the lexical baseline of Richardson et al. (2013, MCTest),
  adapted to extractive QA: a window as wide as the question's word set slides
  over the context, scored by the inverse-count weight log(1 + 1/C(w)) of the
  question words it contains; the answer is a short span from around the best
  window that is not made of question words. Below a relative-overlap
  threshold it abstains ("" = no answer).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from bench.text.sentences import split_sentences
from bench.models.model import Model
from bench.tasks.records import Example, Task

_WORD = re.compile(r"[^\W_]+(?:[.,'’-][^\W_]+)*")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves said says
""".split())


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def leading_sentences(text: str, k: int) -> list[str]:
    """The first `k` sentences of `text`, splitting only as much of it as needed.

    A prefix is split, and grown until it holds more than `k` sentences (the
    k-th is then complete) or is the whole text: the same result as splitting
    everything, in time that does not grow with the document.
    """
    size = 1024  # a news article's first three sentences fit in about 1,000 characters
    while True:
        if size >= len(text):
            return split_sentences(text)[:k]
        sentences = split_sentences(text[:size])
        if len(sentences) > k + 1:
            return sentences[:k]
        size *= 4


#: TextRank compares every pair of sentences; longer documents are ranked on their first sentences.
TEXTRANK_MAX_SENTENCES = 1000


class Lead(Model):
    name = "lead-3"
    task_types = ("summarization",)

    def __init__(self, n: int = 3) -> None:
        self.n = n
        split_sentences("Load the splitter. Now.")  # its model loads here, not in the timed predictions

    def predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        k = min(self.n, task.summary_sentences)
        return ["\n".join(leading_sentences(ex.input, k)) for ex in examples]

    def describe(self) -> dict:
        return {"name": self.name, "sentences": self.n, "splitter": "nupunkt"}


class TextRank(Model):
    name = "textrank"
    task_types = ("summarization",)

    def __init__(self, damping: float = 0.85, tol: float = 1e-6, max_iter: int = 200) -> None:
        split_sentences("Load the splitter. Now.")  # its model loads here, not in the timed predictions
        self.warnings: list[str] = []
        self.damping = damping
        self.tol = tol
        self.max_iter = max_iter

    def describe(self) -> dict:
        return {"name": self.name, "damping": self.damping, "similarity": "mihalcea-tarau-2004"}

    def predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        return [self.summarize(ex.input, task.summary_sentences) for ex in examples]

    def rank(self, sentences: list[str]) -> list[float]:
        import numpy as np

        bags = [set(w for w in _words(s) if w not in STOPWORDS) for s in sentences]
        n = len(sentences)
        weights = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                denom = math.log(len(bags[i]) + 1) + math.log(len(bags[j]) + 1)
                overlap = len(bags[i] & bags[j])
                if overlap and denom > 0:
                    weights[i, j] = weights[j, i] = overlap / denom
        out_sum = weights.sum(axis=1)
        # Column-stochastic transition matrix; a sentence with no links spreads evenly.
        trans = np.where(out_sum[:, None] > 0, weights / np.where(out_sum[:, None] > 0, out_sum[:, None], 1), 1.0 / n)
        scores = np.full(n, 1.0 / n)
        for _ in range(self.max_iter):
            new = (1 - self.damping) / n + self.damping * trans.T @ scores
            if np.abs(new - scores).sum() < self.tol:
                scores = new
                break
            scores = new
        return scores.tolist()

    def summarize(self, document: str, k: int) -> str:
        sentences = split_sentences(document)
        if len(sentences) > TEXTRANK_MAX_SENTENCES:
            self.warnings.append(f"a document of {len(sentences)} sentences was ranked on its first "
                                 f"{TEXTRANK_MAX_SENTENCES} (TextRank compares every pair)")
            sentences = sentences[:TEXTRANK_MAX_SENTENCES]
        if len(sentences) <= k:
            return "\n".join(sentences)
        scores = self.rank(sentences)
        # Highest score first; earlier sentence on ties (deterministic).
        top = sorted(range(len(sentences)), key=lambda i: (-round(scores[i], 12), i))[:k]
        return "\n".join(sentences[i] for i in sorted(top))


_SPAN_TOKEN = re.compile(r"\$ ?[0-9][0-9.,]*|[^\W_]+(?:[.,'’-][^\W_]+)*")


class SlidingWindow(Model):
    name = "sliding-window"
    task_types = ("qa",)

    def __init__(self, threshold: float = 0.4, max_answer_words: int = 4) -> None:
        self.threshold = threshold
        self.max_answer_words = max_answer_words

    def describe(self) -> dict:
        return {"name": self.name, "threshold": self.threshold, "max_answer_words": self.max_answer_words,
                "method": "richardson-2013-sliding-window"}

    def predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        return [self.answer(ex.input, ex.question or "") for ex in examples]

    def answer(self, context: str, question: str) -> str:
        spans = [(m.start(), m.end(), m.group().lower()) for m in _SPAN_TOKEN.finditer(context)]
        if not spans:
            return ""
        counts = Counter(w for _, _, w in spans)
        q_words = [w for w in _words(question) if w not in STOPWORDS]
        target = set(q_words)
        if not target:
            return ""
        ic = {w: math.log(1 + 1 / counts[w]) if counts[w] else math.log(2) for w in target}
        best_possible = sum(ic.values())
        size = len(target)
        best, best_at = -1.0, 0
        for start in range(max(1, len(spans) - size + 1)):
            window = spans[start:start + size]
            seen = {w for _, _, w in window if w in target}
            s = sum(ic[w] for w in seen)
            if s > best:
                best, best_at = s, start
        if best / best_possible < self.threshold:
            return ""
        return self._extract(context, spans, best_at, size, target, question)

    def _extract(self, context: str, spans, at: int, size: int, target: set[str], question: str) -> str:
        """A run of non-question, non-stopword tokens near the best window."""
        lo, hi = max(0, at - size), min(len(spans), at + 2 * size)
        runs: list[list[int]] = []
        current: list[int] = []
        for k in range(lo, hi):
            w = spans[k][2]
            if w in target or w in STOPWORDS:
                if current:
                    runs.append(current)
                current = []
            else:
                current.append(k)
        if current:
            runs.append(current)
        if not runs:
            return ""
        q = question.lower()
        centre = at + size / 2

        def prefer(run: list[int]) -> tuple:
            text = " ".join(spans[k][2] for k in run)
            wants_number = q.startswith(("how many", "how much", "how large", "what percentage")) or "how many" in q
            wants_name = q.startswith(("who", "whom", "whose", "which")) or " who " in q
            typed = 0
            if wants_number and re.search(r"[0-9]", text):
                typed = 1
            elif wants_name and any(context[spans[k][0]].isupper() for k in run):
                typed = 1
            distance = min(abs(k - centre) for k in run)
            return (-typed, distance, run[0])

        run = min(runs, key=prefer)[: self.max_answer_words]
        return context[spans[run[0]][0]:spans[run[-1]][1]]
