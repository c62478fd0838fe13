"""``ema_decay``: the fitted weights are the exponential moving average of every step's weights.

The reference is the definition, in float64: ``a_0`` the initial weights and, after step ``t``,
``a_t = a_{t-1} + (1 - min(decay, (1 + t) / (10 + t))) * (w_t - a_{t-1})``.
"""

import numpy as np
import pytest
import torch
from _settings import SAMPLED_PARAMS, all_recommenders, make_fast
from test_trainer import batches, network, rows, train

import skvaser.nn.trainer as trainer
from skvaser import NARMRecommender, VASERRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions
from skvaser.models.neural import NeuralRecommender
from skvaser.models.vaser import PAPER_PARAMS
from skvaser.nn.trainer import evaluate_network

NEURAL = [cls for cls in all_recommenders() if issubclass(cls, NeuralRecommender)]


@pytest.fixture
def step_weights(monkeypatch):
    """The parameters after every optimiser step of the next training, in float64, the
    initial ones first."""
    recorded = []
    adam = trainer._adam

    def recording_adam(network, learning_rate):
        optimizer = adam(network, learning_rate)
        parameters = list(network.parameters())

        def record(*_):
            recorded.append([p.detach().double().clone() for p in parameters])

        record()
        optimizer.register_step_post_hook(record)
        return optimizer

    monkeypatch.setattr(trainer, "_adam", recording_adam)
    return recorded


def moving_average(weights, decay, steps):
    """The definition's ``a_steps`` from ``weights[0], ..., weights[steps]``."""
    average = [w.clone() for w in weights[0]]
    for t in range(1, steps + 1):
        rate = 1.0 - min(decay, (1 + t) / (10 + t))
        average = [a + rate * (w - a) for a, w in zip(average, weights[t])]
    return average


def assert_holds(net, expected):
    for parameter, want in zip(net.parameters(), expected):
        torch.testing.assert_close(parameter.detach().double(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.999])
def test_the_network_ends_with_the_moving_average_of_the_steps(step_weights, decay):
    net = network()
    steps = train(net, batches(*rows(n_rows=20)), max_iter=3, ema_decay=decay).steps
    assert len(step_weights) == steps + 1 and steps % 3 == 0
    assert_holds(net, moving_average(step_weights, decay, steps))
    # ... and not the last step's weights
    assert not torch.allclose(net.encoder.embedding.weight.double(), step_weights[-1][0])


def test_early_stopping_scores_and_keeps_the_average(step_weights):
    net = network()
    validation = batches(*rows(n_rows=10, seed=1), batch_size=10)
    history = train(
        net, batches(*rows(n_rows=20)), validation, max_iter=4, ema_decay=0.8,
        n_iter_no_change=4,
    )
    per_epoch = (len(step_weights) - 1) // 4
    for epoch, score in enumerate(history.validation_scores, start=1):
        averaged = network()
        with torch.no_grad():
            for parameter, value in zip(
                averaged.parameters(), moving_average(step_weights, 0.8, epoch * per_epoch)
            ):
                parameter.copy_(value)
        assert evaluate_network(averaged, validation)[0] == pytest.approx(score)
    assert_holds(net, moving_average(step_weights, 0.8, history.best_epoch * per_epoch))


def test_the_average_does_not_change_training(step_weights):
    """The steps (and so the losses) are those of a fit without an average."""
    plain, averaged = network(), network()
    data = batches(*rows(n_rows=20))
    plain_history = train(plain, data, max_iter=3, ema_decay=0.0)
    plain_weights = [list(w) for w in step_weights]
    step_weights.clear()
    averaged_history = train(averaged, data, max_iter=3, ema_decay=0.95)
    assert averaged_history.loss == plain_history.loss
    for left, right in zip(plain_weights, step_weights):
        assert all(torch.equal(a, b) for a, b in zip(left, right))
    assert_holds(plain, plain_weights[-1])


@pytest.fixture(scope="module")
def data():
    X, y, _ = sessions_to_prefixes(*make_sessions(n_sessions=150, n_items=40, random_state=0))
    return X, y


@pytest.mark.parametrize("cls", [VASERRecommender, NARMRecommender], ids=lambda c: c.__name__)
def test_a_sampled_softmax_leaves_the_item_table_out_of_the_average(cls, data):
    plain = make_fast(cls, **SAMPLED_PARAMS, ema_decay=0.0).fit(*data)
    averaged = make_fast(cls, **SAMPLED_PARAMS, ema_decay=0.9).fit(*data)
    items = "encoder.embedding.weight"
    plain_state, averaged_state = plain.network_.state_dict(), averaged.network_.state_dict()
    assert torch.equal(plain_state[items], averaged_state[items])
    assert any(
        not torch.equal(plain_state[name], averaged_state[name])
        for name in plain_state if name != items
    )


def test_every_neural_model_takes_the_parameter(data):
    for cls in NEURAL:
        model = make_fast(cls, ema_decay=0.9).fit(*data)
        assert np.isfinite(model.loss_curve_).all()
        assert model.predict(data[0][:3]).shape == (3, 20)


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_a_decay_outside_zero_one_is_refused(data, decay):
    with pytest.raises(ValueError, match="ema_decay"):
        make_fast(VASERRecommender, ema_decay=decay).fit(*data)


def test_vaser_averages_by_default_the_others_and_the_paper_do_not():
    assert VASERRecommender().ema_decay == 0.999
    assert VASERRecommender(**PAPER_PARAMS).ema_decay == 0.0
    assert all(cls().ema_decay == 0.0 for cls in NEURAL if cls is not VASERRecommender)
