"""The sampled softmax (``n_negatives > 0``): the loss, the sampler, and the estimators with it."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _settings import SAMPLED_PARAMS, make_fast
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_baselines_neural import CHECK_PARAMS, FAST, markov_sessions, popularity_recall
from test_common import (  # the checks every recommender passes, reused here
    check_diverged_loss_names_the_term,
    check_keyboard_interrupt_keeps_a_usable_model,
    check_matmul_precision,
    check_predictions,
    check_same_random_state_same_model,
    check_warm_start_with_nothing_to_learn,
)
from test_estimator_checks import _expected_failed_checks

from skvaser import (
    GRU4RecRecommender,
    NARMRecommender,
    ReLaVaRRecommender,
    STAMPRecommender,
    VASERRecommender,
    recall_at_k,
)
from skvaser.nn.sampled_softmax import NegativeSampler, sampled_cross_entropy

NEURAL = [VASERRecommender, NARMRecommender, STAMPRecommender, GRU4RecRecommender,
          ReLaVaRRecommender]


@pytest.fixture(scope="module")
def data():
    """A first-order Markov task over 60 items (``test_baselines_neural.py``): (X, y) to train,
    (X, y) to test."""
    X, y, _ = markov_sessions(300, seed=1)
    X_test, y_test, _ = markov_sessions(100, seed=2)
    return X, y, X_test, y_test


# ------------------------------------------------------------------------ the loss
def _problem(n_items=30, batch=6, dim=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, dim, generator=gen, requires_grad=True)
    weights = torch.randn(n_items, dim, generator=gen, requires_grad=True)
    target = torch.randint(n_items, (batch,), generator=gen)
    return query, weights, target


def test_every_item_once_is_the_full_softmax():
    """Every item a candidate once (in any order) and a constant log_q: the full softmax's
    loss and gradients (against F.cross_entropy)."""
    query, weights, target = _problem()
    full = F.cross_entropy(query @ weights.T, target)
    grad_full = torch.autograd.grad(full, (query, weights))
    candidates = torch.randperm(len(weights), generator=torch.Generator().manual_seed(3))
    log_q = torch.full((len(candidates),), 2.5)
    sampled = sampled_cross_entropy(query, weights[candidates], target, candidates, log_q)
    grad_sampled = torch.autograd.grad(sampled, (query, weights))
    torch.testing.assert_close(sampled, full)
    for got, expected in zip(grad_sampled, grad_full):
        torch.testing.assert_close(got, expected)


def test_log_q_shifts_each_candidate():
    """The corrected logits are ``score - log_q``: a per-candidate log_q equals the full softmax
    of the shifted scores."""
    query, weights, target = _problem()
    log_q = torch.linspace(-1.0, 2.0, len(weights))
    candidates = torch.arange(len(weights))
    expected = F.cross_entropy(query @ weights.T - log_q, target)
    torch.testing.assert_close(
        sampled_cross_entropy(query, weights, target, candidates, log_q), expected
    )


def test_accidental_hits_are_left_out():
    """Copies of a row's target among the candidates do not count as its negatives: adding
    them changes nothing; the first copy is the positive."""
    query, weights, target = _problem(n_items=12, batch=4)
    candidates = torch.cat([target, torch.tensor([0, 5, 7])])
    candidates = candidates[candidates.argsort(stable=True)].unique_consecutive()
    log_q = torch.rand(len(candidates), generator=torch.Generator().manual_seed(1))
    lookup = dict(zip(candidates.tolist(), log_q.tolist()))
    for row in range(len(target)):
        q, t = query[row : row + 1], target[row : row + 1]
        base = sampled_cross_entropy(q, weights[candidates], t, candidates, log_q)
        # the row's target twice more, in front and at the end
        copies = torch.cat([t, candidates, t])
        copies_log_q = torch.tensor([lookup[i] for i in copies.tolist()])
        with_copies = sampled_cross_entropy(q, weights[copies], t, copies, copies_log_q)
        torch.testing.assert_close(with_copies, base)
    # a copy of another row's target is a negative of this row: it counts, alone (one row
    # in the batch) and beside the row whose target it is (the whole batch)
    other = next(row for row in range(1, len(target)) if target[row] != target[0])
    doubled = torch.cat([candidates, target[other : other + 1]])
    doubled_log_q = torch.tensor([lookup[i] for i in doubled.tolist()])
    assert sampled_cross_entropy(query[:1], weights[doubled], target[:1], doubled,
                                 doubled_log_q) > sampled_cross_entropy(
        query[:1], weights[candidates], target[:1], candidates, log_q)
    # in the batch, row 0's loss (the batch's sum less the other rows' losses) is the same:
    # another row's target stays a negative of row 0 beside that row
    others = [row for row in range(len(target)) if row != 0]
    per_other = [
        sampled_cross_entropy(query[row : row + 1], weights[doubled], target[row : row + 1],
                              doubled, doubled_log_q)
        for row in others
    ]
    batch = sampled_cross_entropy(query, weights[doubled], target, doubled, doubled_log_q)
    row_0_in_batch = len(target) * batch - torch.stack(per_other).sum()
    torch.testing.assert_close(row_0_in_batch, sampled_cross_entropy(
        query[:1], weights[doubled], target[:1], doubled, doubled_log_q))
    # a row whose only candidate is its target has nothing to rank against: loss 0
    alone = sampled_cross_entropy(query[:1], weights[target[:1]], target[:1], target[:1],
                                  torch.zeros(1))
    assert alone.item() == pytest.approx(0.0)


def test_rows_of_one_session_leave_out_each_others_targets():
    """With ``sessions``, a row's loss is its loss over the candidates without the other rows
    of its session (their target columns removed), by definition; every row its own session
    is no session at all."""
    query, weights, target = _problem(n_items=12, batch=7, seed=2)
    target[3] = target[2]  # a repeat within a session: the positive is then the first copy
    sessions = torch.tensor([0, 0, 1, 1, 1, 2, 3])
    candidates = torch.cat([target, torch.tensor([0, 5, 7, 5])])
    log_q = torch.rand(12, generator=torch.Generator().manual_seed(1))[candidates]  # by item
    per_row = []
    for row in range(len(target)):
        kept = [c for c in range(len(candidates)) if not (
            c < len(target) and c != row and sessions[c] == sessions[row])]
        per_row.append(sampled_cross_entropy(
            query[row : row + 1], weights[candidates[kept]], target[row : row + 1],
            candidates[kept], log_q[kept]))
    got = sampled_cross_entropy(query, weights[candidates], target, candidates, log_q,
                                sessions=sessions)
    torch.testing.assert_close(got, torch.stack(per_row).mean())
    alone = torch.arange(len(target))
    torch.testing.assert_close(
        sampled_cross_entropy(query, weights[candidates], target, candidates, log_q,
                              sessions=alone),
        sampled_cross_entropy(query, weights[candidates], target, candidates, log_q))


def _mean_sampled_gradient(query, weights, target, sampler, draws, correct=True):
    total = torch.zeros_like(query)
    for _ in range(draws):
        candidates = sampler.candidates(target)
        log_q = sampler.log_expected_counts(candidates, len(target))
        if not correct:
            log_q = torch.zeros_like(log_q)
        loss = sampled_cross_entropy(query, weights[candidates], target, candidates, log_q)
        total += torch.autograd.grad(loss, query)[0]
    return total / draws


def test_corrected_gradient_approaches_the_full_softmax_gradient():
    """The log-Q-corrected gradient (averaged over 40 draws, seed 0) approaches the full
    softmax's as n_negatives grows: relative error below 3 % with 8192 negatives drawn from
    500 items, falling from 16 negatives; without the correction it stays above 10 %."""
    n_items, dim = 500, 8
    gen = torch.Generator().manual_seed(0)
    counts = torch.floor(1000.0 / torch.arange(1, n_items + 1) ** 1.1) + 1  # Zipf-like
    weights = torch.randn(n_items, dim, generator=gen)
    query = torch.randn(16, dim, generator=gen, requires_grad=True)
    target = torch.multinomial(counts / counts.sum(), 16, replacement=True, generator=gen)
    full = torch.autograd.grad(F.cross_entropy(query @ weights.T, target), query)[0]

    def error(n_negatives, correct=True):
        sampler = NegativeSampler(counts, n_negatives, 0.75, torch.Generator().manual_seed(0))
        mean = _mean_sampled_gradient(query, weights, target, sampler, 40, correct)
        return ((mean - full).norm() / full.norm()).item()

    errors = [error(n) for n in (16, 256, 8192)]  # measured: 0.40, 0.12, 0.017
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.03
    assert error(8192, correct=False) > 0.1  # measured: 0.14, the bias of the popularity


# ------------------------------------------------------------------------ the sampler
def test_sampler_draws_the_powered_popularity():
    counts = torch.tensor([0.0, 1.0, 4.0, 9.0, 16.0, 0.0])
    draws = 200_000
    for alpha in (0.0, 0.5, 1.0):
        sampler = NegativeSampler(counts, draws, alpha, torch.Generator().manual_seed(0))
        frequencies = torch.bincount(sampler.draw(), minlength=len(counts)) / draws
        powered = counts.pow(alpha) if alpha else torch.ones_like(counts)
        expected = powered / powered.sum()
        torch.testing.assert_close(frequencies, expected.float(), atol=0.005, rtol=0)
        if alpha > 0:  # an item that is never a target is never drawn
            assert frequencies[0] == 0 and frequencies[-1] == 0
    # a large power of large counts (10**6 ** 60 overflows float64): q is still its definition,
    # softmax(alpha log count), here nearly all on the most popular item
    large = torch.tensor([10.0**6, 9.0 * 10**5, 1.0, 0.0])
    sampler = NegativeSampler(large, 10, 60.0, torch.Generator().manual_seed(0))
    definition = torch.softmax(60.0 * large.double().log(), 0)
    torch.testing.assert_close(sampler._q, definition.float())
    assert torch.isfinite(sampler.log_expected_counts(torch.tensor([0, 1, 2]), 4)).all()
    # the log expected counts: B p(i) + S q(i)
    sampler = NegativeSampler(counts, 10, 1.0, torch.Generator().manual_seed(0))
    items = torch.tensor([1, 4])
    expected = (4 * counts[items] / counts.sum() + 10 * counts[items] / counts.sum()).log()
    torch.testing.assert_close(sampler.log_expected_counts(items, 4), expected.float())


def test_sampler_uses_only_its_generator():
    counts = torch.arange(1.0, 101.0)
    state = torch.get_rng_state()

    def draw(seed):
        return NegativeSampler(counts, 64, 0.75, torch.Generator().manual_seed(seed)).draw()

    assert torch.equal(draw(0), draw(0)) and not torch.equal(draw(0), draw(1))
    assert torch.equal(torch.get_rng_state(), state)


# ------------------------------------------------------------------------ the estimators
@pytest.mark.parametrize("cls", NEURAL, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("bad", [{"n_negatives": -1}, {"n_negatives": 2.5},
                                 {"sample_alpha": -0.5}])
def test_invalid_sampling_parameters(cls, bad, data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match=next(iter(bad))):
        make_fast(cls, **bad).fit(X, y)


@pytest.mark.parametrize("cls", NEURAL, ids=lambda cls: cls.__name__)
def test_sampled_fit_learns_ranks_everything_and_pickles(cls, data):
    """Training against 8 sampled negatives (of 60 items) learns the transitions as the full
    softmax does (``test_baselines_neural.py``); prediction ranks the whole catalogue; the
    model pickles without its sampler and predicts the same after loading."""
    X, y, X_test, y_test = data
    hidden = {"hidden_size": 32} if "hidden_size" in cls().get_params() else {}
    model = cls(**FAST, **hidden, **SAMPLED_PARAMS).fit(X, y)
    assert model.network_.sampler is None  # training state only
    recall = recall_at_k(y_test, model.predict(X_test), k=20)
    assert recall > popularity_recall(y, y_test) + 0.4, recall
    every = model.set_params(n_recommendations=model.n_items_).predict(X_test[:5])
    assert all(np.array_equal(np.sort(row), model.items_) for row in every)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


@pytest.mark.parametrize("cls", NEURAL, ids=lambda cls: cls.__name__)
def test_sparse_item_gradients_only_when_sampling(cls, data):
    """Sampling gives the item tables sparse gradients (SparseAdam); the full softmax keeps
    them dense; n_negatives at least the catalogue trains with the full softmax, bit for bit."""
    X, y, _, _ = data
    full = make_fast(cls).fit(X, y)
    assert full.network_.sparse_parameters() == []
    as_many = make_fast(cls, n_negatives=10_000).fit(X, y)
    assert as_many.loss_curve_ == full.loss_curve_
    sampled = make_fast(cls, **SAMPLED_PARAMS).fit(X, y)
    network = sampled.network_
    tables = network.sparse_parameters()
    assert tables and sampled.loss_curve_ != full.loss_curve_
    # one training step's gradients: sparse for the tables, dense for the rest
    network.train()
    network.sampler = NegativeSampler(torch.ones(sampled.n_items_), 8, 0.75,
                                      torch.Generator().manual_seed(0))
    x = torch.as_tensor(np.searchsorted(sampled.items_, X[:16, -3:]) + 1)
    targets = torch.as_tensor(np.searchsorted(sampled.items_, y[:16]) + 1)
    network.zero_grad(set_to_none=True)
    network.loss_terms(x, targets, torch.Generator().manual_seed(0))["reconstruction"].backward()
    ids = {id(table) for table in tables}
    for parameter in network.parameters():
        if parameter.grad is not None:
            assert parameter.grad.is_sparse == (id(parameter) in ids)


def test_same_seed_same_sampled_model_and_global_rngs_untouched(data):
    X, y, _, _ = data
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = make_fast(NARMRecommender, **SAMPLED_PARAMS).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    second = make_fast(NARMRecommender, **SAMPLED_PARAMS).fit(X, y)
    other = make_fast(NARMRecommender, **SAMPLED_PARAMS, random_state=1).fit(X, y)
    assert first.loss_curve_ == second.loss_curve_ != other.loss_curve_
    np.testing.assert_array_equal(first.predict(X), second.predict(X))


def test_gru4rec_bpr_max_with_sampled_negatives(data):
    X, y, X_test, y_test = data
    model = make_fast(GRU4RecRecommender, loss="bpr_max", **SAMPLED_PARAMS).fit(X, y)
    assert np.isfinite(model.loss_curve_).all()
    assert model.network_.sparse_parameters()


# ------------------------------------------------------- the common checks, sampled
SAMPLED_CHECKS = [
    check_predictions,
    check_same_random_state_same_model,
    check_diverged_loss_names_the_term,
    check_keyboard_interrupt_keeps_a_usable_model,
    check_warm_start_with_nothing_to_learn,
    check_matmul_precision,
]


@pytest.mark.parametrize("check", SAMPLED_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("cls", NEURAL, ids=lambda cls: cls.__name__)
def test_common_checks_with_sampled_negatives(cls, check):
    """The common suite's training checks (``tests/test_common.py``) with ``SAMPLED_PARAMS``."""
    check(clone(make_fast(cls, **SAMPLED_PARAMS)))


@parametrize_with_checks(
    [VASERRecommender(hidden_size=8, latent_dim=4, n_flows=2, **CHECK_PARAMS, **SAMPLED_PARAMS)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_checks_with_sampled_negatives(estimator, check):
    """scikit-learn's estimator checks with ``n_negatives=8`` (a check whose data has at most 8
    items trains with the full softmax, as documented)."""
    check(estimator)
