"""``label_smoothing``: the smoothed full softmax against its definition, on every neural model."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _settings import SMALL_BATCH, all_recommenders, make_fast
from hypothesis import given, settings
from hypothesis import strategies as st

from skvaser import GRU4RecRecommender, VASERRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions
from skvaser.models.neural import NeuralRecommender
from skvaser.nn.base import SessionNetwork
from skvaser.nn.sampled_softmax import NegativeSampler

NEURAL = [cls for cls in all_recommenders() if issubclass(cls, NeuralRecommender)]


class _FixedWeights(SessionNetwork):
    """A network whose item weights are a given tensor: the softmax alone."""

    def __init__(self, weights):
        super().__init__()
        self.weights = weights

    def item_weights(self):
        return self.weights


@settings(max_examples=30, deadline=None)
@given(
    n_rows=st.integers(1, 12), n_items=st.integers(2, 30), eps=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**16),
)
def test_smoothed_loss_and_gradients_are_torchs_label_smoothing(n_rows, n_items, eps, seed):
    """Value and both gradients equal ``F.cross_entropy(..., label_smoothing=eps)`` on the
    dense logits (float64: only the order of the sums differs)."""
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(n_rows, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(n_items, 4, generator=generator, dtype=torch.float64,
                          requires_grad=True)
    y = torch.randint(1, n_items + 1, (n_rows,), generator=generator)
    network = _FixedWeights(weights)
    network.label_smoothing = eps
    found = network.reconstruction(query, y)
    expected = F.cross_entropy(query @ weights.T, y - 1, label_smoothing=eps)
    torch.testing.assert_close(found, expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(torch.autograd.grad(found, (query, weights)),
                         torch.autograd.grad(expected, (query, weights))):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def data():
    X, y, _ = sessions_to_prefixes(*make_sessions(n_sessions=150, n_items=40, random_state=0))
    return X, y


@pytest.mark.parametrize("cls", NEURAL, ids=lambda cls: cls.__name__)
def test_every_neural_model_trains_on_the_smoothed_softmax(cls, data):
    """The network gets the estimator's ``eps``, and the training loss follows it: higher than
    the plain loss from the first step on (smoothed targets are never fitted exactly)."""
    X, y = data
    plain = make_fast(cls, batch_size=SMALL_BATCH, max_iter=1, label_smoothing=0.0).fit(X, y)
    smoothed = make_fast(cls, batch_size=SMALL_BATCH, max_iter=1, label_smoothing=0.3).fit(X, y)
    assert plain.network_.label_smoothing == 0.0
    assert smoothed.network_.label_smoothing == 0.3
    assert smoothed.loss_terms_[0]["reconstruction"] > plain.loss_terms_[0]["reconstruction"]
    assert smoothed.predict(X[:5]).shape == (5, 20)


def test_bpr_max_refuses_smoothing_before_anything_changes(data):
    X, y = data
    fitted = make_fast(GRU4RecRecommender, batch_size=SMALL_BATCH, max_iter=1).fit(X, y)
    before = fitted.predict(X[:20])
    fitted.set_params(loss="bpr_max", label_smoothing=0.1)
    with pytest.raises(ValueError, match="loss='cross_entropy'"):
        fitted.fit(X[:50], y[:50])
    np.testing.assert_array_equal(fitted.predict(X[:20]), before)


def test_sampled_estimate_of_the_mean_item_weight_is_unbiased():
    """The sampled softmax's estimate of the mean item weight (each candidate over its expected
    copies), averaged over many batches whose targets follow the popularity, is the mean over
    the items the sampler can draw."""
    generator = torch.Generator().manual_seed(0)
    counts = torch.tensor([50.0, 20, 10, 5, 5, 3, 2, 1, 1, 3])
    weights = torch.randn(len(counts), 3, generator=generator, dtype=torch.float64)
    sampler = NegativeSampler(counts, n_negatives=6, alpha=0.75, generator=generator)
    n_rows, estimates = 4, []
    for _ in range(20_000):
        target = torch.multinomial(counts / counts.sum(), n_rows, replacement=True,
                                   generator=generator)
        candidates = sampler.candidates(target)
        log_counts = sampler.log_expected_counts(candidates, n_rows).to(torch.float64)
        estimates.append((weights[candidates] * torch.exp(-log_counts)[:, None]).sum(0))
    estimate = torch.stack(estimates).mean(0) / sampler.n_items
    torch.testing.assert_close(estimate, weights.mean(0), rtol=0, atol=0.02)


def test_sampled_smoothing_term_averages_to_the_full_softmaxs():
    """The sampled softmax's smoothing term (its loss with ``eps`` minus without, on the same
    candidates), averaged over batches whose targets follow the popularity, is the full
    softmax's term on the same targets (``eps`` times the mean of ``s_target - mean_j s_j``,
    checked against its definition above)."""
    eps, n_batches = 0.3, 4_000
    generator = torch.Generator().manual_seed(1)
    counts = torch.tensor([50.0, 20, 10, 5, 5, 3, 2, 1, 1, 3])
    query = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    network = _FixedWeights(torch.randn(len(counts), 3, generator=generator, dtype=torch.float64))
    sampler = NegativeSampler(counts, n_negatives=6, alpha=0.75, generator=generator)

    def smoothing_term(y):
        state = generator.get_state()
        network.label_smoothing = eps
        smoothed = network.reconstruction(query, y)
        generator.set_state(state)  # the same negatives
        network.label_smoothing = 0.0
        return (smoothed - network.reconstruction(query, y)).item()

    full, sampled = [], []
    for _ in range(n_batches):
        y = 1 + torch.multinomial(counts / counts.sum(), len(query), replacement=True,
                                  generator=generator)
        network.sampler = None
        full.append(smoothing_term(y))
        network.sampler = sampler
        sampled.append(smoothing_term(y))
    difference = np.subtract(sampled, full)
    standard_error = difference.std() / np.sqrt(n_batches)
    assert abs(np.mean(full)) > 20 * standard_error  # a term of the wrong sign would show
    assert abs(difference.mean()) < 4 * standard_error, (np.mean(full), difference.mean())


@pytest.mark.parametrize("cls", [VASERRecommender, GRU4RecRecommender],
                         ids=lambda cls: cls.__name__)
def test_sampled_softmax_trains_on_smoothed_targets(cls, data):
    X, y = data
    params = dict(batch_size=SMALL_BATCH, max_iter=1, n_negatives=8)
    plain = make_fast(cls, label_smoothing=0.0, **params).fit(X, y)
    smoothed = make_fast(cls, label_smoothing=0.3, **params).fit(X, y)
    assert smoothed.network_.label_smoothing == 0.3
    # as with the full softmax: smoothed targets are never fitted exactly
    assert smoothed.loss_terms_[0]["reconstruction"] > plain.loss_terms_[0]["reconstruction"]
    assert np.isfinite(smoothed.loss_curve_).all()


def test_vaser_smooths_by_default_the_others_do_not():
    """VASER's default was chosen on validation data; the baselines keep their papers' loss."""
    assert VASERRecommender().label_smoothing == 0.1
    assert all(cls().label_smoothing == 0.0 for cls in NEURAL if cls is not VASERRecommender)


def test_smoothing_outside_zero_one_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="label_smoothing"):
        make_fast(VASERRecommender, label_smoothing=1.0).fit(X, y)
