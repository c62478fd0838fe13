"""The shared training loop (skvaser/nn/trainer.py) on its own: edges of the data, faults, progress.

The estimators' side (early stopping, warm start, the verbose lines of a fit) is tested in
``test_vaser.py`` and ``test_common.py``; here the trainer gets hand-made batches.
"""

import io
import re
import sys

import numpy as np
import pytest
import torch
from _settings import TRAINER_SETTINGS
from conftest import scripted_validation

import skvaser.nn.trainer as trainer
from skvaser.nn.batching import PrefixBatches
from skvaser.nn.narm import NARMNetwork
from skvaser.nn.trainer import _duration, train_network

CPU = torch.device("cpu")


def network(n_items=6, seed=0):
    torch.manual_seed(seed)
    return NARMNetwork(n_items, 4, 4, embedding_dropout=0.0, context_dropout=0.0)


def batches(codes, targets, batch_size=2):
    return PrefixBatches(np.asarray(codes, dtype=np.int64), np.asarray(targets), batch_size, CPU)


def rows(n_rows=12, n_items=6, seed=0):
    """``n_rows`` prefixes of 3 codes (some left-padded) and their targets, codes 1..n_items."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, n_items + 1, size=(n_rows, 3))
    codes[::3, 0] = 0
    return codes, rng.integers(1, n_items + 1, size=n_rows)


def train(net, data, validation=None, max_iter=3, **params):
    return train_network(
        net, data, validation, max_iter=max_iter, generator=torch.Generator().manual_seed(1),
        batch_generator=torch.Generator().manual_seed(2), verbose=0,
        **{**TRAINER_SETTINGS, **params},
    )


def state(net):
    return {name: tensor.clone() for name, tensor in net.state_dict().items()}


def assert_same(left, right):
    assert left.keys() == right.keys()
    assert all(torch.equal(left[name], right[name]) for name in left)


# ---------------------------------------------------------------------- edges of the data
@pytest.mark.parametrize(
    "codes, targets",
    [(np.zeros((0, 3)), np.zeros(0)), (np.zeros((4, 3)), np.ones(4))],
    ids=["no rows", "only empty rows"],
)
def test_nothing_to_train_on_raises_a_value_error(codes, targets):
    net = network()
    before = state(net)
    with pytest.raises(ValueError, match="No training rows: every prefix is empty"):
        train(net, batches(codes, targets))
    assert_same(state(net), before)


def test_one_row_trains():
    net = network()
    before = state(net)
    history = train(net, batches([[0, 2, 3]], [4]), max_iter=3)
    assert history.steps == 3 and len(history.loss) == 3 and np.isfinite(history.loss).all()
    assert history.loss[-1] < history.loss[0]  # it learns that one row
    assert not torch.equal(net.encoder.embedding.weight, before["encoder.embedding.weight"])


def test_one_item_has_zero_loss():
    net = network(n_items=1)
    history = train(net, batches([[1, 1], [0, 1]], [1, 1]), max_iter=2)
    assert history.steps == 4 and history.loss == [0.0, 0.0]  # two lengths: two batches an epoch


def test_empty_rows_beside_others_are_skipped():
    codes, targets = rows()
    codes[:2] = 0
    history = train(network(), batches(codes, targets, batch_size=4), max_iter=1)
    assert history.steps == batches(codes, targets, batch_size=4).n_training_batches
    assert len(history.loss) == 1


# ---------------------------------------------------------------------- step sizes
def recorded_step_sizes(monkeypatch):
    """The step size each optimiser step of the next training takes (a list filled as it runs)."""
    seen = []
    adam = trainer._adam

    def recording(network, learning_rate):
        optimizer = adam(network, learning_rate)
        optimizer.register_step_pre_hook(lambda opt, *_: seen.append(opt.param_groups[0]["lr"]))
        return optimizer

    monkeypatch.setattr(trainer, "_adam", recording)
    return seen


@pytest.mark.parametrize("decay", [0.5, 1.0, "linear"])
def test_step_sizes_follow_the_schedule(monkeypatch, decay):
    seen = recorded_step_sizes(monkeypatch)
    data = batches(*rows())
    n_batches, max_iter, lr = data.n_training_batches, 3, 0.01
    train(network(), data, max_iter=max_iter, learning_rate=lr, learning_rate_decay=decay)
    steps = np.arange(max_iter * n_batches)
    if decay == "linear":  # from lr at the first step down to lr / steps at the last
        expected = lr * (1 - steps / len(steps))
    else:  # constant within an epoch, times decay after it
        expected = lr * decay ** (steps // n_batches)
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


def test_a_linear_schedule_moves_every_optimiser_and_stops_at_zero():
    tables = [torch.nn.Parameter(torch.zeros(2)) for _ in range(2)]
    optimizer = trainer._Together(*(torch.optim.SGD([t], lr=0.3) for t in tables))
    scheduler, per_step = trainer._step_sizes(optimizer, "linear", 4)
    assert per_step
    sizes = []
    for _ in range(6):
        sizes.append([part.param_groups[0]["lr"] for part in optimizer.parts])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(sizes, [[s, s] for s in (0.3, 0.225, 0.15, 0.075, 0.0, 0.0)])


# ---------------------------------------------------------------------- early stopping
def test_validation_keeps_the_best_epochs_weights_without_an_average(monkeypatch):
    """No moving average (``TRAINER_SETTINGS``: ``ema_decay=0``), as in NARM, STAMP, GRU4Rec
    and ReLaVaR: the best epoch's own weights are put back, not the last epoch's."""
    seen = scripted_validation(monkeypatch, [0.2, 0.5, 0.4, 0.45])
    net = network()
    history = train(net, batches(*rows()), batches(*rows(seed=1)), max_iter=10,
                    n_iter_no_change=2)
    assert len(history.loss) == 4 and history.best_epoch == 2 and history.best_score == 0.5
    assert_same(state(net), seen[1])


@pytest.mark.parametrize(
    "scores, tol, n_epochs, best",
    [
        # patience counts epochs in a row without a gain: never two here
        ([0.2, 0.1, 0.5, 0.4, 0.6, 0.3], 0.0, 6, 0.6),
        # a gain of tol or less is none
        ([0.5, 0.5005, 0.5009, 0.9], 1e-3, 3, 0.5),
    ],
)
def test_patience_counts_consecutive_epochs_without_a_gain_above_tol(
    monkeypatch, scores, tol, n_epochs, best
):
    scripted_validation(monkeypatch, scores)
    history = train(network(), batches(*rows()), batches(*rows(seed=1)), max_iter=len(scores),
                    n_iter_no_change=2, tol=tol)
    assert len(history.loss) == n_epochs and history.best_score == best


# ---------------------------------------------------------------------- faults
def fail_in_epoch(monkeypatch, epoch, error):
    """``error`` at the second batch of ``epoch`` (counted over this test)."""
    started, seen = {"epochs": 0}, {"batches": 0}
    real_shuffled, real_loss_terms = PrefixBatches.shuffled, NARMNetwork.loss_terms

    def shuffled(self, generator):
        started["epochs"] += 1
        seen["batches"] = 0
        return real_shuffled(self, generator)

    def loss_terms(self, x, y, generator):
        seen["batches"] += 1
        if started["epochs"] == epoch and seen["batches"] == 2:
            raise error
        return real_loss_terms(self, x, y, generator)

    monkeypatch.setattr(PrefixBatches, "shuffled", shuffled)
    monkeypatch.setattr(NARMNetwork, "loss_terms", loss_terms)


@pytest.fixture
def after_one_epoch():
    """The weights and history of an uninterrupted first epoch (the reference)."""
    net = network()
    history = train(net, batches(*rows()), max_iter=1)
    return state(net), history


def test_keyboard_interrupt_returns_the_finished_epochs(after_one_epoch, monkeypatch):
    weights, reference = after_one_epoch
    fail_in_epoch(monkeypatch, 2, KeyboardInterrupt)
    net = network()
    with pytest.warns(
        UserWarning,
        match=r"Training interrupted during epoch 2 after 1 finished epoch; the network keeps "
        r"the weights of the last complete step of epoch 1\.",
    ):
        history = train(net, batches(*rows()), max_iter=5)
    assert history.interrupted and history.loss == reference.loss
    assert_same(state(net), weights)  # not the steps taken in epoch 2
    assert not net.training


def test_keyboard_interrupt_in_the_first_epoch_keeps_the_initial_weights(monkeypatch):
    fail_in_epoch(monkeypatch, 1, KeyboardInterrupt)
    net = network()
    before = state(net)
    with pytest.warns(UserWarning, match="after 0 finished epochs; .* weights it started with"):
        history = train(net, batches(*rows()))
    assert history.interrupted and history.loss == []
    assert_same(state(net), before)


def test_an_error_in_a_later_epoch_restores_the_last_epoch_and_propagates(
    after_one_epoch, monkeypatch
):
    weights, reference = after_one_epoch
    fail_in_epoch(monkeypatch, 2, RuntimeError("out of memory, say"))
    net = network()
    history = trainer.TrainingHistory()
    with pytest.warns(UserWarning, match=r"Training failed during epoch 2 after 1 finished"):
        with pytest.raises(RuntimeError, match="out of memory, say"):
            train(net, batches(*rows()), max_iter=5, history=history)
    assert not history.interrupted and history.loss == reference.loss
    assert_same(state(net), weights)
    assert not net.training


def test_an_error_with_validation_restores_the_best_epoch(monkeypatch):
    seen = scripted_validation(monkeypatch, [0.5, 0.2])
    fail_in_epoch(monkeypatch, 3, RuntimeError("boom"))
    net = network()
    kept = r"failed during epoch 3 .* best weights so far \(epoch 1\)"
    with pytest.warns(UserWarning, match=kept):
        with pytest.raises(RuntimeError, match="boom"):
            train(net, batches(*rows()), batches(*rows(seed=1)), max_iter=5)
    assert_same(state(net), seen[0])


def test_a_nan_loss_names_the_epoch_and_restores_the_last_finite_epoch(
    after_one_epoch, monkeypatch
):
    weights, _ = after_one_epoch
    started = {"epochs": 0}
    real_shuffled, real_loss_terms = PrefixBatches.shuffled, NARMNetwork.loss_terms

    def shuffled(self, generator):
        started["epochs"] += 1
        return real_shuffled(self, generator)

    def loss_terms(self, x, y, generator):
        terms = real_loss_terms(self, x, y, generator)
        if started["epochs"] == 2:
            terms["reconstruction"] = terms["reconstruction"] * float("nan")
        return terms

    monkeypatch.setattr(PrefixBatches, "shuffled", shuffled)
    monkeypatch.setattr(NARMNetwork, "loss_terms", loss_terms)
    net = network()
    with pytest.warns(UserWarning, match="failed during epoch 2"):
        with pytest.raises(
            FloatingPointError,
            match=r"reconstruction term of the loss became nan at step 1 of epoch 2\. "
            r"Lower learning_rate_init or check the input data\.",
        ):
            train(net, batches(*rows()), max_iter=3)
    assert_same(state(net), weights)


def test_weights_left_non_finite_by_the_last_step_raise(monkeypatch):
    """A NaN gradient under a finite loss: no loss of the epoch shows it, the weights do."""
    train_rows = batches(*rows())
    steps = {"taken": 0}
    real_loss_terms = NARMNetwork.loss_terms

    def loss_terms(self, x, y, generator):
        terms = real_loss_terms(self, x, y, generator)
        steps["taken"] += 1
        if steps["taken"] == train_rows.n_training_batches:  # the epoch's last step
            weights = next(self.parameters())
            terms["reconstruction"] = terms["reconstruction"] + torch.sqrt(weights.sum() * 0)
        return terms

    monkeypatch.setattr(NARMNetwork, "loss_terms", loss_terms)
    net = network()
    before = state(net)
    with pytest.raises(FloatingPointError, match="weights became NaN, infinite or larger "
                       r"than 1\.8e\+19 \(their products overflow\) at the last step of epoch 1"):
        train(net, train_rows, max_iter=1)
    assert_same(state(net), before)


def test_weights_too_large_for_products_raise():
    """One step of an absurd step size: the loss was computed before it, finite; the weights
    stay finite (about 1e30) but their products overflow, so prediction would score NaN."""
    one_step = batches(*rows(n_rows=1))
    assert one_step.n_training_batches == 1
    net = network()
    before = state(net)
    with pytest.raises(FloatingPointError, match="larger than 1.8e.19 .* epoch 1. Lower "
                       "learning_rate_init"):
        train(net, one_step, max_iter=1, learning_rate=1e30)
    assert_same(state(net), before)


# ---------------------------------------------------------------------- progress
def test_silent_at_verbose_0(capsys):
    train(network(), batches(*rows()), max_iter=2)
    assert capsys.readouterr() == ("", "")


def test_epoch_lines_without_a_label(capsys):
    train_network(
        network(), batches(*rows()), None, max_iter=2, generator=None,
        batch_generator=torch.Generator().manual_seed(0), verbose=1, **TRAINER_SETTINGS,
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" | ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "regularization" not in lines[0] and "beta" not in lines[0]


def test_a_warm_start_counts_epochs_on(capsys):
    net, data = network(), batches(*rows())
    history = train(net, data, max_iter=2)
    train_network(
        net, data, None, max_iter=2, generator=None, verbose=1, label="M", history=history,
        batch_generator=torch.Generator().manual_seed(0), **TRAINER_SETTINGS,
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" | ")[0] for line in lines] == ["M epoch 3/4", "M epoch 4/4"]


def test_a_progress_bar_on_a_terminal(monkeypatch):
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr(sys, "stdout", terminal)
    train_network(
        network(), batches(*rows(), batch_size=1), None, max_iter=1, generator=None,
        batch_generator=torch.Generator().manual_seed(0), verbose=2, label="NARMRecommender",
        **TRAINER_SETTINGS,
    )
    out = terminal.getvalue()
    assert "\r" in out  # a bar redrawn in place
    assert re.search(r"NARMRecommender epoch 1/1: +\d+%.*\| *\d+/12 ", out)
    assert out.splitlines()[-1].lstrip("\r").startswith("NARMRecommender epoch 1/1 | loss ")
    assert " | batch " not in out  # no plain progress lines on a terminal


@pytest.mark.parametrize(
    "seconds, text",
    [(0.04, "0.0 s"), (12.34, "12.3 s"), (59.94, "59.9 s"), (65, "1 min 05 s"),
     (3599.4, "59 min 59 s"), (7380, "2 h 03 min")],
)
def test_durations_read_well(seconds, text):
    assert _duration(seconds) == text
