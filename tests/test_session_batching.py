"""Training batches of whole sessions: link_prefixes, SessionBatches and their encoding."""

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skvaser import NARMRecommender, VASERRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions
from skvaser.nn.batching import SessionBatches, SessionClicks, compact_codes, link_prefixes
from skvaser.nn.layers import NARMEncoder

fast = settings(max_examples=100, deadline=None)

#: Click sequences over few items (so that prefixes repeat), and a window.
sessions = st.lists(st.lists(st.integers(1, 3), min_size=2, max_size=9), max_size=25)


def _prefixes(clicks, max_len, order_seed):
    """All windowed prefixes of ``clicks`` and their next items, rows in a shuffled order."""
    rows, targets = [], []
    for session in clicks:
        for t in range(1, len(session)):
            prefix = session[max(0, t - max_len) : t]
            rows.append([0] * (max_len - len(prefix)) + prefix)
            targets.append(session[t])
    codes = np.array(rows, dtype=np.int64).reshape(-1, max_len)
    order = np.random.default_rng(order_seed).permutation(len(codes))
    return codes[order], np.array(targets, dtype=np.int64)[order]


def _clicks(row):
    return tuple(int(code) for code in row if code)


@fast
@given(sessions, st.integers(1, 5), st.integers(0, 3))
def test_links_are_extensions_and_as_many_as_possible(clicks, max_len, order_seed):
    codes, targets = _prefixes(clicks, max_len, order_seed)
    codes, lengths = compact_codes(codes)
    successor = link_prefixes(codes, lengths, targets)
    linked = np.flatnonzero(successor >= 0)
    for row in linked:
        assert _clicks(codes[successor[row]]) == _clicks(codes[row]) + (targets[row],)
    assert len(set(successor[linked].tolist())) == len(linked)  # each row extends one at most
    # brute force: every asker of some clicks is linked while rows holding them are left
    holding = Counter(_clicks(row) for row in codes)
    asking = Counter(
        _clicks(row) + (target,)
        for row, target in zip(codes, targets)
        if len(_clicks(row)) < max_len
    )
    assert len(linked) == sum(min(holding[key], count) for key, count in asking.items())


def _epoch_rows(batches, seed, batch_size, max_len):
    """``(clicks, target)`` of every row an epoch serves, checking each batch's shape."""
    served = []
    for rows, x, y in batches.shuffled(torch.Generator().manual_seed(seed)):
        assert isinstance(x, SessionClicks)
        n_sequences, length = x.codes.shape
        assert len(rows) == n_sequences and len(y) == len(x.session) == len(x.step)
        assert 1 <= len(y) < batch_size + max_len
        assert (x.codes != 0).all()  # sequences of one length, no padding
        assert (x.session.diff() >= 0).all() and x.session.max() < n_sequences
        assert 0 <= x.step.min() and x.step.max() < length
        for session, step, target in zip(x.session.tolist(), x.step.tolist(), y.tolist()):
            served.append((_clicks(x.codes[session, : step + 1]), target))
    return served


@fast
@given(sessions, st.integers(1, 5), st.integers(1, 20), st.integers(0, 3))
def test_an_epoch_serves_every_prefix_once(clicks, max_len, batch_size, order_seed):
    codes, targets = _prefixes(clicks, max_len, order_seed)
    batches = SessionBatches(codes, targets, batch_size, torch.device("cpu"))
    served = _epoch_rows(batches, 0, batch_size, max_len)
    assert Counter(served) == Counter(
        (_clicks(row), int(target)) for row, target in zip(codes, targets)
    )
    n_batches = len(list(batches.shuffled(torch.Generator().manual_seed(0))))
    assert n_batches <= batches.n_training_batches
    if batch_size >= 2 * max_len:
        assert n_batches == batches.n_training_batches


def test_sessions_share_batches_and_the_plan_is_reproducible():
    clicks = [[1, 2, 3, 4, 5], [2, 3], [5, 4, 3, 2, 1, 2], [1, 1]] * 10
    codes, targets = _prefixes(clicks, 6, 0)
    batches = SessionBatches(codes, targets, 8, torch.device("cpu"))
    assert batches.n_training_batches == 3 + 5 + 7  # 20, 40 and 50 rows of lengths 1, 4, 5
    state = torch.get_rng_state()

    def plan(seed):
        epoch = batches.shuffled(torch.Generator().manual_seed(seed))
        return [(rows.tolist(), x.step.tolist()) for rows, x, _ in epoch]

    assert plan(1) == plan(1) and plan(1) != plan(2)
    assert torch.equal(state, torch.get_rng_state())
    # the five-click session's four prefixes are the rows of one sequence
    for _, x, _ in batches.shuffled(torch.Generator().manual_seed(0)):
        if x.codes.shape[1] == 4:
            assert x.step.tolist() == [0, 1, 2, 3] * len(x.codes)


def test_no_rows():
    batches = SessionBatches(np.zeros((0, 4), dtype=np.int64), np.zeros(0, np.int64), 3, "cpu")
    assert batches.n_training_batches == 0
    assert list(batches.shuffled(torch.Generator())) == []


@pytest.mark.parametrize("attention", ["narm", "softmax"])
def test_session_clicks_encode_and_train_as_their_prefixes(attention):
    """One pass over the sequences gives each row its prefix's encoding and gradient."""
    clicks = [[1, 2, 3, 4, 5], [2, 3, 1], [5, 4, 3, 2, 1, 2]]
    codes, targets = _prefixes(clicks, 6, 0)
    batches = SessionBatches(codes, targets, 100, torch.device("cpu"))
    torch.manual_seed(0)
    encoder = NARMEncoder(6, 4, 3, attention).double()
    weights = torch.randn(2, 3, dtype=torch.float64)  # a loss that weighs every output
    for _, x, _ in batches.shuffled(torch.Generator().manual_seed(0)):
        encoder.zero_grad()
        h_t, c_l = encoder(x, 0.0, None)
        (h_t @ weights[0] + c_l @ weights[1]).sum().backward()
        together = [p.grad.clone() for p in encoder.parameters()]
        encoder.zero_grad()
        rows = []
        for session, step in zip(x.session.tolist(), x.step.tolist()):
            h, c = encoder(x.codes[session : session + 1, : step + 1], 0.0, None)
            (h @ weights[0] + c @ weights[1]).sum().backward()
            rows.append(torch.cat([h, c], dim=1))
        torch.testing.assert_close(torch.cat([h_t, c_l], dim=1), torch.cat(rows))
        for joint, alone in zip(together, (p.grad for p in encoder.parameters())):
            torch.testing.assert_close(joint, alone)


@pytest.mark.parametrize("estimator", [NARMRecommender, VASERRecommender])
def test_models_train_on_sessions(estimator):
    X, y, _ = sessions_to_prefixes(*make_sessions(n_sessions=300, random_state=0))
    # on the CPU: CUDA's backward adds in no fixed order, so two fits are not the same there
    params = dict(max_iter=2, batch_size=64, random_state=0, batching="sessions", device="cpu")
    first = estimator(**params).fit(X, y)
    assert first.loss_curve_[1] < first.loss_curve_[0]
    again = estimator(**params).fit(X, y)
    np.testing.assert_array_equal(first.predict(X[:50]), again.predict(X[:50]))
    by_prefix = estimator(**{**params, "batching": "prefixes"}).fit(X, y)
    assert first.loss_curve_ != by_prefix.loss_curve_
