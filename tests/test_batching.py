"""Prefixes on the device, cut into batches of one length: compact_codes and PrefixBatches."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skvaser.nn.batching import PrefixBatches, compact_codes

fast = settings(max_examples=100, deadline=None)

#: Encoded prefixes: 0 is padding or an unknown item, anywhere in a row.
code_arrays = hnp.arrays(
    np.int64,
    st.tuples(st.integers(0, 40), st.integers(0, 6)),
    elements=st.integers(0, 5) | st.just(0),
)


@fast
@given(code_arrays)
def test_compact_codes_right_aligns_the_known_clicks_in_order(codes):
    compacted, lengths = compact_codes(codes)
    assert compacted.shape == codes.shape and compacted.dtype == np.int64
    assert lengths.shape == (len(codes),)
    for row, out, length in zip(codes, compacted, lengths):
        clicks = row[row != 0]
        assert length == len(clicks)
        assert (out[: len(row) - length] == 0).all()
        assert (out[len(row) - length :] == clicks).all()


def test_compact_codes_example():
    codes = np.array([[0, 0, 3, 1], [2, 0, 5, 0], [0, 0, 0, 0]])
    compacted, lengths = compact_codes(codes)
    np.testing.assert_array_equal(compacted, [[0, 0, 3, 1], [0, 0, 2, 5], [0, 0, 0, 0]])
    np.testing.assert_array_equal(lengths, [2, 2, 0])


def _check_batches(batches, served, codes, targets, batch_size, skip_empty):
    compacted, lengths = compact_codes(codes)
    seen = []
    for rows, x, y in served:
        rows = rows.cpu().numpy()
        assert 1 <= len(rows) <= batch_size
        assert x.shape == (len(rows), lengths[rows[0]])
        assert (lengths[rows] == x.shape[1]).all()  # one length per batch
        np.testing.assert_array_equal(
            x.cpu().numpy(), compacted[rows][:, codes.shape[1] - x.shape[1] :]
        )
        if targets is None:
            assert y is None
        else:
            np.testing.assert_array_equal(y.cpu().numpy(), targets[rows])
        seen.extend(rows.tolist())
    expected = np.flatnonzero(lengths > 0) if skip_empty else np.arange(len(codes))
    assert sorted(seen) == expected.tolist()  # every row exactly once
    return seen


@fast
@given(codes=code_arrays, batch_size=st.integers(1, 7), with_targets=st.booleans())
def test_every_row_served_exactly_once(codes, batch_size, with_targets):
    targets = np.arange(1, len(codes) + 1) if with_targets else None
    batches = PrefixBatches(codes, targets, batch_size, torch.device("cpu"))
    assert batches.n_samples == len(codes)
    _check_batches(batches, iter(batches), codes, targets, batch_size, skip_empty=False)
    # a training epoch serves every row that holds a click, and no empty one
    epoch = batches.shuffled(torch.Generator().manual_seed(0))
    _check_batches(batches, epoch, codes, targets, batch_size, skip_empty=True)


def test_iteration_order_is_fixed():
    codes = np.random.RandomState(0).randint(0, 4, size=(50, 5))
    batches = PrefixBatches(codes, None, 4, torch.device("cpu"))
    first = [rows.tolist() for rows, _, _ in batches]
    assert first == [rows.tolist() for rows, _, _ in batches]


def _plan(batches, seed):
    return [rows.tolist() for rows, _, _ in batches.shuffled(torch.Generator().manual_seed(seed))]


def test_shuffled_epochs_are_reproducible_and_shuffled():
    rng = np.random.RandomState(0)
    codes = rng.randint(0, 6, size=(300, 6))
    batches = PrefixBatches(codes, rng.randint(1, 6, 300), 8, torch.device("cpu"))
    assert _plan(batches, 1) == _plan(batches, 1)
    assert _plan(batches, 1) != _plan(batches, 2)
    # one generator, two epochs: a new order each epoch, reproducible as a sequence
    generator = torch.Generator().manual_seed(5)
    epoch_1 = [rows.tolist() for rows, _, _ in batches.shuffled(generator)]
    epoch_2 = [rows.tolist() for rows, _, _ in batches.shuffled(generator)]
    assert epoch_1 != epoch_2
    generator = torch.Generator().manual_seed(5)
    assert epoch_1 == [rows.tolist() for rows, _, _ in batches.shuffled(generator)]
    assert epoch_2 == [rows.tolist() for rows, _, _ in batches.shuffled(generator)]
    # the order is not by length: batches of different lengths interleave
    lengths = [int((codes[batch[0]] != 0).sum()) for batch in epoch_1]
    assert lengths != sorted(lengths)


def test_shuffled_leaves_the_global_rng_alone():
    codes = np.random.RandomState(0).randint(0, 4, size=(40, 3))
    batches = PrefixBatches(codes, np.ones(40, dtype=np.int64), 4, torch.device("cpu"))
    state = torch.get_rng_state()
    list(batches.shuffled(torch.Generator().manual_seed(0)))
    assert torch.equal(state, torch.get_rng_state())


def test_no_rows():
    batches = PrefixBatches(np.zeros((0, 4), dtype=np.int64), None, 3, torch.device("cpu"))
    assert batches.n_samples == 0
    assert list(batches) == []
    assert list(batches.shuffled(torch.Generator())) == []


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_batch_size_bounds_batches(batch_size):
    codes = np.tile([[0, 1, 2]], (10, 1))
    sizes = [len(rows) for rows, _, _ in PrefixBatches(codes, None, batch_size, "cpu")]
    assert sum(sizes) == 10 and max(sizes) == min(batch_size, 10)
