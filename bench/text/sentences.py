"""Sentence splitting for ROUGE-Lsum, offline.

rougeLsum treats "\\n" as the only sentence boundary, so a prediction written
as one line scores as a single sentence (ROUGE-Lsum = ROUGE-L), the most
common ROUGE bug in the wild (transformers#6808). Like transformers'
summarization example, bench splits predictions (and references that have no
newlines) into sentences and joins them with "\\n" before scoring. The
splitter is nupunkt, a Punkt implementation that ships its model inside the
package: nltk's punkt needs a download that fails offline.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata

SPLITTER_NAME = "nupunkt"


@lru_cache(maxsize=1)
def splitter_id() -> str:
    """Name and version of the splitter, as recorded in metric signatures."""
    return f"{SPLITTER_NAME}-{metadata.version('nupunkt')}"


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, existing line breaks kept as boundaries."""
    from nupunkt import sent_tokenize

    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if line:
            out.extend(s.strip() for s in sent_tokenize(line) if s.strip())
    return out


def one_sentence_per_line(text: str) -> str:
    return "\n".join(split_sentences(text))
