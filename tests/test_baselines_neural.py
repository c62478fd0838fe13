"""The neural baselines of the paper's Table 2: GRU4Rec, STAMP and ReLaVaR.

Every model is fitted once per module on a small first-order Markov task (each item has one
likely successor), which a sequence model learns in a few epochs and a most-popular ranking
cannot.
"""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_estimator_checks import _expected_failed_checks

from skvaser import (
    GRU4RecRecommender,
    ReLaVaRRecommender,
    STAMPRecommender,
    recall_at_k,
    sessions_to_prefixes,
)
from skvaser.nn.gru4rec import GRU4RecNetwork, bpr_max_loss
from skvaser.nn.relavar import ReLaVaRNetwork
from skvaser.nn.stamp import STAMPNetwork

N_ITEMS = 60
#: Small, fast settings shared by every model of this module.
FAST = {"max_iter": 8, "batch_size": 64, "learning_rate_init": 0.01, "embedding_dim": 16,
        "early_stopping": False, "device": "cpu", "random_state": 0}
MODELS = {
    "gru4rec": lambda **kw: GRU4RecRecommender(hidden_size=32, **{**FAST, **kw}),
    "stamp": lambda **kw: STAMPRecommender(**{**FAST, **kw}),
    "relavar": lambda **kw: ReLaVaRRecommender(hidden_size=32, beta_annealing_steps=50,
                                               **{**FAST, **kw}),
}


#: Small settings for scikit-learn's estimator checks. Without early stopping: the checks fit
#: on catalogues of fewer than 20 items, where the trainer's validation Recall@20 fails (top-20
#: of fewer items), and on single rows, which leave nothing to hold out.
CHECK_PARAMS = {"max_iter": 2, "embedding_dim": 8, "early_stopping": False, "device": "cpu"}


@parametrize_with_checks(
    [
        GRU4RecRecommender(hidden_size=8, **CHECK_PARAMS),
        GRU4RecRecommender(hidden_size=8, loss="bpr_max", n_negatives=4, **CHECK_PARAMS),
        STAMPRecommender(**CHECK_PARAMS),
        ReLaVaRRecommender(hidden_size=8, **CHECK_PARAMS),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def markov_sessions(n_sessions, seed):
    """Sessions of 2-8 clicks; a click follows its predecessor's successor with probability 0.9."""
    rng = np.random.default_rng(seed)
    successor = np.random.default_rng(0).permutation(N_ITEMS)
    session_ids, items = [], []
    for session in range(n_sessions):
        item = rng.integers(N_ITEMS)
        for _ in range(rng.integers(2, 9)):
            session_ids.append(session)
            items.append(item)
            item = successor[item] if rng.random() < 0.9 else rng.integers(N_ITEMS)
    return sessions_to_prefixes(np.array(session_ids), np.array(items), max_len=10)


@pytest.fixture(scope="module")
def data():
    X, y, _ = markov_sessions(300, seed=1)
    X_test, y_test, _ = markov_sessions(100, seed=2)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return {name: make().fit(X, y) for name, make in MODELS.items()}


def popularity_recall(y_train, y_test, k=20):
    top = np.argsort(-np.bincount(y_train, minlength=N_ITEMS), kind="stable")[:k]
    return np.isin(y_test, top).mean()


@pytest.mark.parametrize("name", MODELS)
def test_learns_the_transitions_better_than_popularity(name, fitted, data):
    X, y, X_test, y_test = data
    model = fitted[name]
    recall = recall_at_k(y_test, model.predict(X_test), k=20)
    baseline = popularity_recall(y, y_test)
    assert recall > baseline + 0.4, (recall, baseline)
    assert model.score(X_test, y_test) == pytest.approx(recall)
    assert model.n_iter_ == len(model.loss_curve_) == FAST["max_iter"]
    assert model.loss_curve_[-1] < model.loss_curve_[0]


@pytest.mark.parametrize("name", MODELS)
def test_predictions_survive_pickle_and_joblib(name, fitted, data, tmp_path):
    _, _, X_test, _ = data
    model = fitted[name]
    expected = model.predict(X_test)
    np.testing.assert_array_equal(model.predict(X_test), expected)  # deterministic
    assert expected.shape == (len(X_test), 20)
    assert set(np.unique(expected)) <= set(model.items_)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X_test), expected)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(X_test), expected)


@pytest.mark.parametrize("name", MODELS)
def test_same_random_state_same_model_and_global_rngs_untouched(name, fitted, data):
    X, y, X_test, _ = data
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    again = MODELS[name]().fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    np.testing.assert_array_equal(again.predict(X_test), fitted[name].predict(X_test))
    assert again.loss_curve_ == fitted[name].loss_curve_
    other = MODELS[name](random_state=1, max_iter=1).fit(X, y)
    assert other.loss_curve_[0] != fitted[name].loss_curve_[0]


@pytest.mark.parametrize("name", MODELS)
def test_empty_prefixes_get_one_recommendation_list(name, fitted, data):
    _, _, X_test, _ = data
    model = fitted[name]
    X = np.vstack([np.full((3, X_test.shape[1]), -1), X_test[:2]])
    ranked = model.predict(X)
    assert ranked.shape == (5, 20)
    np.testing.assert_array_equal(ranked[0], ranked[1])
    np.testing.assert_array_equal(ranked[0], ranked[2])
    next_clicks = np.bincount(np.searchsorted(model.items_, data[1]), minlength=model.n_items_)
    most_clicked = model.items_[np.argsort(-next_clicks, kind="stable")[:20]]
    np.testing.assert_array_equal(ranked[0], most_clicked)


@pytest.mark.parametrize("name", MODELS)
def test_unknown_items_are_skipped(name, fitted, data):
    _, _, X_test, _ = data
    model = fitted[name]
    X = X_test[(X_test[:, 0] == -1) & (X_test[:, -2] != -1)][:20]
    # the same clicks with an item never seen in fit inserted before the last two
    with_unknown = np.hstack([X[:, 1:-2], np.full((len(X), 1), 10_000), X[:, -2:]])
    with pytest.warns(UserWarning, match="not seen in fit"):
        skipped = model.predict(with_unknown)
    np.testing.assert_array_equal(skipped, model.predict(X))
    assert model.score(X, np.full(len(X), 10_000)) == 0.0  # unknown targets are misses


@pytest.mark.parametrize("name", MODELS)
def test_not_fitted(name, data):
    with pytest.raises(NotFittedError):
        MODELS[name]().predict(data[2])


@pytest.mark.parametrize("name", MODELS)
def test_warm_start_continues(name, data):
    X, y, _, _ = data
    model = MODELS[name](max_iter=1, warm_start=True).fit(X, y)
    network = model.network_
    model.fit(X, y)
    assert model.network_ is network and model.n_iter_ == 2


@pytest.mark.parametrize("name", MODELS)
def test_early_stopping_records_validation_scores(name, data):
    X, y, _, _ = data
    model = MODELS[name](early_stopping=True, max_iter=3).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ <= 3
    assert model.best_validation_score_ == max(model.validation_scores_)


@pytest.mark.parametrize(
    "make, bad",
    [
        (GRU4RecRecommender, {"loss": "top1"}),
        (GRU4RecRecommender, {"n_negatives": -1}),
        (STAMPRecommender, {"init_std": 0.0}),
        (ReLaVaRRecommender, {"beta": -1.0}),
    ],
)
def test_invalid_parameters(make, bad, data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match=f"The '{next(iter(bad))}' parameter of {make.__name__}"):
        make(**bad).fit(X, y)


# ---------------------------------------------------------------------------- GRU4Rec


def test_gru4rec_scores_with_a_separate_biased_output_layer():
    network = GRU4RecNetwork(7, 4, 5, 0.0, 0.0).eval()
    x = torch.tensor([[1, 2, 3], [4, 5, 6]])
    query, weights = network.query(x), network.item_weights()
    assert query.shape == (2, 6) and weights.shape == (7, 6)
    _, last = network.gru(network.embedding(x))
    expected = last[0] @ network.output.weight.T + network.output.bias
    torch.testing.assert_close(query @ weights.T, expected)
    # an empty prefix keeps the initial state: its scores are the biases
    torch.testing.assert_close(
        (network.query(x[:, :0]) @ weights.T)[0], network.output.bias.detach()
    )


def test_bpr_max_over_the_full_catalogue_is_its_definition():
    """GRU4Rec's loss without a sampler: every other item a negative, against a row-by-row
    loop of the formula; a row without negatives (one item) contributes 0, not -log(1e-24)."""
    gen = torch.Generator().manual_seed(0)
    network = GRU4RecNetwork(6, 3, 3, 0.0, 0.0, loss="bpr_max", bpr_max_regularization=0.5)
    x = torch.randint(1, 7, (4, 3), generator=gen)
    y = torch.tensor([1, 6, 3, 3])
    loss = network.loss_terms(x, y, None)["reconstruction"]
    scores = network.query(x) @ network.item_weights().T
    expected = []
    for row, item in enumerate((y - 1).tolist()):
        negatives = torch.cat([scores[row, :item], scores[row, item + 1 :]])
        s = torch.softmax(negatives, 0)
        expected.append(
            -torch.log((s * torch.sigmoid(scores[row, item] - negatives)).sum())
            + 0.5 * (s * negatives**2).sum()
        )
    torch.testing.assert_close(loss, torch.stack(expected).mean())
    alone = bpr_max_loss(torch.randn(2, 1), torch.tensor([0, 0]), torch.zeros(2, 1, dtype=bool),
                         0.5)
    assert alone.item() == 0.0


@pytest.mark.parametrize("loss", ["cross_entropy", "bpr_max"])
def test_gru4rec_sampled_losses_learn(loss, data):
    X, y, X_test, y_test = data
    model = MODELS["gru4rec"](loss=loss, n_negatives=16).fit(X, y)
    recall = recall_at_k(y_test, model.predict(X_test), k=20)
    assert recall > popularity_recall(y, y_test) + 0.4


# ---------------------------------------------------------------------------- STAMP


def test_stamp_trilinear_scores():
    network = STAMPNetwork(9, 6, 0.0, 0.0, init_std=0.05).eval()
    assert torch.all(network.embedding.weight[0] == 0)
    x = torch.tensor([[3, 1, 4, 1], [5, 9, 2, 6]])
    e = network.embedding(x)
    x_t, m_s = e[:, -1], e.mean(dim=1)
    gate = network.w1(e) + network.w2(x_t)[:, None] + network.w3(m_s)[:, None]
    a = network.w0(torch.sigmoid(gate))
    h_s = torch.tanh(network.mlp_s((a * e).sum(dim=1)))
    h_t = torch.tanh(network.mlp_t(x_t))
    torch.testing.assert_close(network.query(x), h_s * h_t)
    assert network.item_weights().shape == (9, 6)
    empty = network.query(x[:, :0])
    expected = torch.tanh(network.mlp_s.bias) * torch.tanh(network.mlp_t.bias)
    torch.testing.assert_close(empty, expected.expand(2, -1))


# ---------------------------------------------------------------------------- ReLaVaR


def test_relavar_kl_is_nonnegative_and_recorded(fitted):
    model = fitted["relavar"]
    assert all(terms["regularization"] >= 0 for terms in model.loss_terms_)
    network = ReLaVaRNetwork(10, 4, 6, 0.0, 0.0).train()
    with torch.no_grad():  # a posterior far from the prior, and one equal to it
        network.log_var.bias.fill_(3.0)
    x, y = torch.tensor([[1, 2, 3], [4, 5, 6]]), torch.tensor([7, 8])
    terms = network.loss_terms(x, y, torch.Generator().manual_seed(0))
    assert terms["regularization"].item() > 0
    # in nats per latent dimension: the summed KL of the last step over hidden_size (6)
    _, kl = network._last_state(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(terms["regularization"], kl.mean() / 6)
    assert network.loss_terms(x[:, :0], y, None)["regularization"].item() == 0.0


def test_relavar_samples_in_training_and_predicts_from_means(fitted, data):
    _, _, X_test, _ = data
    model = fitted["relavar"]
    np.testing.assert_array_equal(model.predict(X_test), model.predict(X_test))
    network = model.network_
    x = torch.as_tensor(X_test[X_test[:, -3] >= 0][:8, -3:])
    x = torch.as_tensor(model._encode(x.numpy()))
    mean_query = network.query(x)
    z = torch.zeros(len(x), network.hidden_size)
    for t in range(x.shape[1]):  # the mean path, by hand
        z = network.cell(network.embedding(x[:, t]), z)
    torch.testing.assert_close(mean_query[:, :-1], z)
    network.train()
    try:
        first = network.query(x, torch.Generator().manual_seed(0))
        second = network.query(x, torch.Generator().manual_seed(1))
        again = network.query(x, torch.Generator().manual_seed(0))
    finally:
        network.eval()
    assert not torch.allclose(first, second)  # training samples the states ...
    torch.testing.assert_close(first, again)  # ... from the passed generator
    np.testing.assert_array_equal(model.predict(X_test), model.predict(X_test))


def test_doctest_style_fit_on_make_sessions():
    from skvaser.datasets import make_sessions

    X, y, _ = sessions_to_prefixes(*make_sessions(n_sessions=60, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in (GRU4RecRecommender, STAMPRecommender, ReLaVaRRecommender):
            model = make(max_iter=1, random_state=0, device="cpu").fit(X, y)
            assert model.predict(X[:3]).shape == (3, 20)
            assert clone(model).get_params() == model.get_params()
