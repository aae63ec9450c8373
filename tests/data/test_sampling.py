"""ganedit.data.sampling: the order of samples, a pure function of seeds."""

from __future__ import annotations

from collections import Counter

from ganedit.data.sampling import Order, sample_seed, window


def test_each_table_walks_its_own_permutations():
    o = Order([3, 5], seed=1)
    assert o.epoch_len == 5 and o.per_rank == 5
    seqs = []
    for e in range(6):
        a, b = o.epoch(e)
        assert sorted(b) == [0, 1, 2, 3, 4]  # the longest table: one permutation per epoch
        assert set(a) == {0, 1, 2} and max(Counter(a).values()) <= 2  # wraps into a fresh one
        assert sorted(a[:3]) == [0, 1, 2]
        seqs.append((tuple(a), tuple(b)))
    assert len({s[0] for s in seqs}) > 1 and len({s[1] for s in seqs}) > 1  # reshuffled
    assert Order([3, 5], seed=1).epoch(4) == o.epoch(4)  # pure function of the seed
    assert Order([3, 5], seed=2).epoch(4) != o.epoch(4)


def test_ranks_are_disjoint_and_in_lockstep():
    ranks = [Order([10], seed=3, rank=r, world=3) for r in range(3)]
    seen = [set(o.epoch(0)[0]) for o in ranks]
    assert all(len(s) == 3 for s in seen)  # 10 // 3 each
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_keys_roll_over_lazily_and_seeds_depend_on_the_position():
    o = Order([4], seed=0)
    keys, pos = o.keys(4, 0, 0)
    assert pos == (0, 4)  # "epoch 0 done", not yet (1, 0)
    more, pos = o.keys(1, *pos)
    assert pos == (1, 1) and more[0].picks[0] == o.epoch(1)[0][0]
    assert more[0].seed == sample_seed(0, 0, 1, 0)
    assert len({k.seed for k in keys}) == 4
    again, _ = Order([4], seed=0).keys(4, 0, 0)
    assert again == keys
    assert [k.picks for k in o.first(5)] == [(0,), (1,), (2,), (3,), (0,)]


def test_crop_windows():
    assert window((10, 12), None, 5, 0, False) == (0, 0, 10, 12)
    assert window((10, 12), (4, 6), 5, 0, True) == (3, 3, 4, 6)
    got = {window((10, 12), (4, 6), s, 0, False) for s in range(50)}
    assert len(got) > 10 and all(0 <= y <= 6 and 0 <= x <= 6 for y, x, _, _ in got)
    assert window((10, 12), (4, 6), 7, 1, False) == window((10, 12), (4, 6), 7, 1, False)
