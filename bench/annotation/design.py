"""A study's design: which documents, which items, who rates what and in which order. Pure and seeded.

- The *sample* of documents is drawn once for every system (the same
  documents, so the ratings of the systems pair up), as `bench run --sample`
  draws examples (`bench.tasks.examples.select_indices`).
- An *item* is what one page shows: one system's summary of a document, or in
  pairwise studies two systems' summaries of it (every pair of systems, or each
  system against a baseline).
- Each item goes to `overlap` annotators (agreement needs items rated by two or
  more), over a seeded shuffle of the items, so that every annotator gets as
  many items as the others and shares items with each of the others about as
  often.
- Each annotator's items come in an order of their own (seeded), so that the
  order of the systems, or of the documents, cannot shape the ratings; `repeat`
  items come a second time, later, to measure how consistent each annotator is
  with themselves.
- In pairwise studies which summary is shown on the left is drawn per page, an
  even split for each annotator, and recorded, so a preference for the left
  position can be measured; a repeated item shows its summaries the other way
  round.

Every draw comes from ``numpy.random.default_rng([seed, stage, ...])``: the
same inputs and seed give the same design.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The stages of the design, each drawn from its own generator.
_ASSIGN, _ORDER, _REPEAT, _SIDES = 1, 2, 3, 4


@dataclass(frozen=True)
class Item:
    """One page: a document and one system's summary (`b` None), or two systems' summaries (a before b)."""

    document: int
    a: int
    b: int | None = None


@dataclass(frozen=True)
class Showing:
    """One entry of an annotator's queue."""

    item: int
    flipped: bool = False
    """Pairwise: system b is shown on the left (A) and a on the right (B)."""
    repeat: bool = False
    """A second showing of an item met earlier in the queue."""


@dataclass(frozen=True)
class Design:
    items: tuple[Item, ...]
    queues: tuple[tuple[Showing, ...], ...]
    """One queue per annotator, in the order the pages are shown."""


def system_pairs(n_systems: int, baseline: int | None = None) -> list[tuple[int, int]]:
    """The pairs a pairwise study compares: every pair (a < b), or each system against `baseline` (baseline first)."""
    if baseline is None:
        return [(a, b) for a in range(n_systems) for b in range(a + 1, n_systems)]
    return [(baseline, s) for s in range(n_systems) if s != baseline]


def make_items(n_documents: int, n_systems: int, pairs: Sequence[tuple[int, int]] | None = None) -> list[Item]:
    """Every item: each document with each system (ratings) or each pair of `pairs` (pairwise)."""
    if pairs is None:
        return [Item(d, s) for d in range(n_documents) for s in range(n_systems)]
    return [Item(d, a, b) for d in range(n_documents) for a, b in pairs]


def assign(n_items: int, n_annotators: int, overlap: int, seed: int) -> list[list[int]]:
    """Each annotator's items: over a seeded shuffle of the items, each goes to the `overlap` annotators with the
    fewest items so far, among those the ones that have shared fewest items with the others chosen (ties drawn):
    loads differ by one item at most, and every two annotators share items about equally often."""
    if not 1 <= overlap <= n_annotators:
        raise ValueError("overlap must lie between 1 and the number of annotators")
    rng = np.random.default_rng([seed, _ASSIGN])
    order = rng.permutation(n_items)
    load = np.zeros(n_annotators, dtype=np.int64)
    shared = np.zeros((n_annotators, n_annotators), dtype=np.int64)
    out: list[list[int]] = [[] for _ in range(n_annotators)]
    for item in order:
        tie = rng.random(n_annotators)
        chosen: list[int] = []
        for _ in range(overlap):
            chosen.append(min((a for a in range(n_annotators) if a not in chosen),
                              key=lambda a: (load[a], int(shared[a, chosen].sum()), tie[a])))
        for a in chosen:
            out[a].append(int(item))
            load[a] += 1
            shared[a, chosen] += 1
    return [sorted(items) for items in out]


def queue(items: Sequence[int], annotator: int, repeat: int, seed: int, pairwise: bool) -> list[Showing]:
    """One annotator's pages: their items shuffled, `repeat` of them shown again later, sides drawn (pairwise)."""
    rng = np.random.default_rng([seed, _ORDER, annotator])
    order = [int(items[k]) for k in rng.permutation(len(items))]
    shown: list[tuple[int, bool]] = [(i, False) for i in order]
    if repeat:
        rng_repeat = np.random.default_rng([seed, _REPEAT, annotator])
        again = sorted(int(k) for k in rng_repeat.choice(len(order), size=min(repeat, len(order)), replace=False))
        for item in [order[k] for k in again]:
            first = next(p for p, (i, r) in enumerate(shown) if i == item and not r)
            # anywhere after the first showing, never right after it when there is room
            low = min(first + 2, len(shown))
            shown.insert(int(rng_repeat.integers(low, len(shown) + 1)), (item, True))
    if not pairwise:
        return [Showing(i, False, r) for i, r in shown]
    firsts = [k for k, (_, r) in enumerate(shown) if not r]
    sides = np.zeros(len(firsts), dtype=bool)
    sides[: len(firsts) // 2] = True
    if len(firsts) % 2:
        sides[-1] = bool(np.random.default_rng([seed, _SIDES, annotator, 1]).integers(0, 2))
    sides = np.random.default_rng([seed, _SIDES, annotator]).permutation(sides)
    flipped = {shown[k][0]: bool(f) for k, f in zip(firsts, sides)}
    return [Showing(i, flipped[i] != r, r) for i, r in shown]


def make_design(n_documents: int, n_systems: int, n_annotators: int, *, overlap: int, repeat: int, seed: int,
                pairs: Sequence[tuple[int, int]] | None = None) -> Design:
    """The items, and every annotator's queue."""
    items = make_items(n_documents, n_systems, pairs)
    assigned = assign(len(items), n_annotators, overlap, seed)
    return Design(tuple(items), tuple(tuple(queue(a, k, repeat, seed, pairs is not None))
                                      for k, a in enumerate(assigned)))
