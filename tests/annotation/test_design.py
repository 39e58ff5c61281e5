"""A study's design: the sample, who rates what, each annotator's order, repeats and sides. Pure and seeded."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest

from bench.annotation.design import assign, make_design, make_items, queue, system_pairs


def test_items_pair_every_system_with_every_document():
    items = make_items(3, 2)
    assert [(i.document, i.a, i.b) for i in items] == [(0, 0, None), (0, 1, None), (1, 0, None), (1, 1, None),
                                                       (2, 0, None), (2, 1, None)]
    pairs = system_pairs(3)
    assert pairs == [(0, 1), (0, 2), (1, 2)]
    assert system_pairs(3, baseline=1) == [(1, 0), (1, 2)]
    assert [(i.document, i.a, i.b) for i in make_items(2, 3, [(1, 0), (1, 2)])] == [(0, 1, 0), (0, 1, 2), (1, 1, 0),
                                                                                    (1, 1, 2)]


@pytest.mark.parametrize("n_items, annotators, overlap", [(30, 3, 2), (30, 3, 3), (31, 4, 2), (12, 5, 1), (7, 2, 2)])
def test_each_item_goes_to_overlap_annotators_evenly(n_items, annotators, overlap):
    assigned = assign(n_items, annotators, overlap, seed=3)
    per_item = Counter(i for items in assigned for i in items)
    assert set(per_item) == set(range(n_items)) and set(per_item.values()) == {overlap}
    assert all(len(set(items)) == len(items) for items in assigned)  # never one item twice to one annotator
    sizes = [len(items) for items in assigned]
    assert max(sizes) - min(sizes) <= 1
    if overlap == 2:  # every two annotators share items, so each pair's agreement can be measured
        for a, b in combinations(range(annotators), 2):
            assert set(assigned[a]) & set(assigned[b])


def test_the_design_is_seeded_and_each_annotator_has_an_order_of_their_own():
    one = make_design(10, 3, 3, overlap=3, repeat=0, seed=7)
    assert one == make_design(10, 3, 3, overlap=3, repeat=0, seed=7)
    assert one != make_design(10, 3, 3, overlap=3, repeat=0, seed=8)
    orders = [[s.item for s in q] for q in one.queues]
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(30))
    assert orders[0] != orders[1] != orders[2] != orders[0]
    # shuffled, not in the order of the documents or the systems
    assert orders[0] != sorted(orders[0])
    assert {one.items[i].a for i in orders[0][:6]} != {0} and len({one.items[i].document for i in orders[0][:6]}) > 1


def test_repeats_come_later_and_count_once_per_annotator():
    q = queue(list(range(20)), annotator=0, repeat=5, seed=1, pairwise=False)
    assert len(q) == 25
    firsts = [s.item for s in q if not s.repeat]
    again = [s.item for s in q if s.repeat]
    assert sorted(firsts) == list(range(20)) and len(set(again)) == 5 and set(again) <= set(firsts)
    for item in again:
        first = next(k for k, s in enumerate(q) if s.item == item and not s.repeat)
        second = next(k for k, s in enumerate(q) if s.item == item and s.repeat)
        assert second >= first + 2  # never right after the first showing
    assert len(queue(list(range(3)), 0, repeat=10, seed=1, pairwise=False)) == 6  # at most every item again


def test_pairwise_sides_are_drawn_evenly_and_a_repeat_is_shown_the_other_way_round():
    q = queue(list(range(21)), annotator=2, repeat=4, seed=5, pairwise=True)
    firsts = [s for s in q if not s.repeat]
    flipped = sum(s.flipped for s in firsts)
    assert flipped in (10, 11)
    first_side = {s.item: s.flipped for s in firsts}
    for s in q:
        if s.repeat:
            assert s.flipped != first_side[s.item]
    # another annotator, another draw
    other = queue(list(range(21)), annotator=3, repeat=0, seed=5, pairwise=True)
    assert [s.flipped for s in sorted(other, key=lambda s: s.item)] != [first_side[i] for i in range(21)]
    # ratings studies have no sides
    assert not any(s.flipped for s in queue(list(range(10)), 0, repeat=2, seed=5, pairwise=False))


def test_bad_overlap_is_refused():
    with pytest.raises(ValueError):
        assign(5, 2, 3, seed=0)
    with pytest.raises(ValueError):
        assign(5, 2, 0, seed=0)
