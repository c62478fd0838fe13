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
    plain = make_fast(cls, batch_size=SMALL_BATCH, max_iter=1).fit(X, y)
    smoothed = make_fast(cls, batch_size=SMALL_BATCH, max_iter=1, label_smoothing=0.3).fit(X, y)
    assert plain.network_.label_smoothing == 0.0
    assert smoothed.network_.label_smoothing == 0.3
    assert smoothed.loss_terms_[0]["reconstruction"] > plain.loss_terms_[0]["reconstruction"]
    assert smoothed.predict(X[:5]).shape == (5, 20)


@pytest.mark.parametrize(
    "model, message",
    [
        (VASERRecommender(n_negatives=8, label_smoothing=0.1), "set n_negatives=0"),
        (GRU4RecRecommender(loss="bpr_max", label_smoothing=0.1), "loss='cross_entropy'"),
    ],
    ids=["sampled", "bpr_max"],
)
def test_smoothing_without_a_full_softmax_is_refused_before_anything_changes(
    model, message, data
):
    X, y = data
    fitted = make_fast(type(model), batch_size=SMALL_BATCH, max_iter=1).fit(X, y)
    before = fitted.predict(X[:20])
    fitted.set_params(**{k: v for k, v in model.get_params().items()
                         if k in ("n_negatives", "loss", "label_smoothing")})
    with pytest.raises(ValueError, match=message):
        fitted.fit(X[:50], y[:50])
    np.testing.assert_array_equal(fitted.predict(X[:20]), before)


def test_smoothing_outside_zero_one_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="label_smoothing"):
        make_fast(VASERRecommender, label_smoothing=1.0).fit(X, y)
