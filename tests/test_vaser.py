"""VASERRecommender and NARMRecommender: the scikit-learn contract, training loop and persistence.

Everything runs on the CPU with tiny networks and a couple of epochs; the CUDA path is in
``test_cuda.py``.
"""

import copy
import pickle
import random
import re
import threading
import warnings

import joblib
import numpy as np
import pytest
import torch
from _settings import SMALL_BATCH, TINY_VASER_NETWORK, make_fast
from conftest import interrupt_after, scripted_validation
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from test_common import pickled_as_if_trained_on

import skvaser.models.neural as neural
import skvaser.nn.trainer as trainer
from skvaser import (
    SCORERS,
    NARMRecommender,
    SessionSplitter,
    VASERRecommender,
    mrr_at_k,
    sessions_to_prefixes,
)
from skvaser._progress import PLAIN_LINES
from skvaser._sklearn import InvalidParameterError
from skvaser.datasets import make_sessions
from skvaser.models.neural import resolve_device
from skvaser.neighbors import ItemKNNRecommender
from skvaser.nn.batching import SessionBatches, compact_codes
from skvaser.nn.narm import NARMNetwork
from skvaser.nn.vaser import VASERNetwork
from skvaser.persistence import dump, load

NETWORKS = {VASERRecommender: VASERNetwork, NARMRecommender: NARMNetwork}
ESTIMATORS = list(NETWORKS)
UNKNOWN_ITEM = 10**6


def tiny(cls=VASERRecommender, **params):
    """``cls`` with the suite's fast settings (a fit of a few hundred rows takes a fraction of
    a second), in batches of ``SMALL_BATCH``."""
    return make_fast(cls, **{"batch_size": SMALL_BATCH, **params})


@pytest.fixture(scope="module")
def data():
    """(X, y, groups): about 540 prefixes of 150 synthetic sessions over 40 items."""
    return sessions_to_prefixes(*make_sessions(150, 40, random_state=0), max_len=8)


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda cls: cls.__name__)
def fitted(request, data):
    """A fitted tiny model; tests must not change it (copy it first)."""
    X, y, _ = data
    return tiny(request.param).fit(X, y)


def weights(model):
    return {name: tensor.clone() for name, tensor in model.network_.state_dict().items()}


def assert_same_weights(left, right):
    assert left.keys() == right.keys()
    for name in left:
        assert torch.equal(left[name], right[name]), name


# ---------------------------------------------------------------------- prediction
def test_predict_is_deterministic(fitted, data):
    X, _, _ = data
    first = fitted.predict(X)
    assert first.shape == (len(X), 20) and first.dtype == np.int64
    assert np.isin(first, fitted.items_).all()
    assert (np.sort(first, axis=1)[:, 1:] != np.sort(first, axis=1)[:, :-1]).all()  # distinct
    # the network in eval mode ignores the random draws it is given (no sampling, no dropout),
    # which change its training-mode query
    x = torch.as_tensor(compact_codes(fitted._encode(X[:50]))[0])
    network = copy.deepcopy(fitted.network_)
    assert not network.training

    def queries():
        with torch.no_grad():
            return [network.query(x, torch.Generator().manual_seed(seed)) for seed in (1, 2)]

    assert torch.equal(*queries())
    network.train()
    assert not torch.equal(*queries())


def test_predictions_do_not_depend_on_the_other_rows(fitted, data):
    """Rows predicted one at a time, all together, shuffled or in chunks get the same items."""
    X, _, _ = data
    X = np.vstack([X[:120], np.full((2, X.shape[1]), -1), np.full((1, X.shape[1]), UNKNOWN_ITEM)])
    unknown = "not seen in fit"  # the last row's
    with pytest.warns(UserWarning, match=unknown):
        together = fitted.predict(X)
    with pytest.warns(UserWarning, match=unknown):
        one_by_one = np.vstack([fitted.predict(row[None]) for row in X])
    order = np.random.RandomState(0).permutation(len(X))
    with pytest.warns(UserWarning, match=unknown):
        shuffled = fitted.predict(X[order])[np.argsort(order)]
    with pytest.warns(UserWarning, match=unknown):
        chunks = np.vstack([fitted.predict(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(together, shuffled)
    np.testing.assert_array_equal(together, chunks)
    # The scores themselves agree to float32 rounding only (a GRU over a batch of one and over
    # a batch of many runs different matrix kernels): exact rankings hold because no two
    # scores of a row are that close here.
    codes, _ = compact_codes(fitted._encode(X[:120]))
    same_length = codes[(codes != 0).sum(axis=1) == 3][:, -3:]
    x = torch.as_tensor(same_length)
    with torch.no_grad():
        batch = fitted.network_.query(x)
        single = torch.cat([fitted.network_.query(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(batch, single, atol=1e-6, rtol=1e-5)


def test_n_recommendations(data):
    """A shorter list is the head of a longer one; asked for more than the catalogue, every
    item comes back once, then padding."""
    X, y, _ = data
    model = tiny(max_iter=1, n_recommendations=60).fit(X, y)
    longest = model.predict(X[:10])
    assert longest.shape == (10, 60) and model.n_items_ < 60
    assert (longest[:, model.n_items_ :] == -1).all()  # fewer items than asked: padding_value
    for row in longest[:, : model.n_items_]:
        np.testing.assert_array_equal(np.sort(row), model.items_)
    for n_recommendations in (1, 5, model.n_items_):
        shorter = model.set_params(n_recommendations=n_recommendations).predict(X[:10])
        np.testing.assert_array_equal(shorter, longest[:, :n_recommendations])


def test_score_is_recall_at_20(fitted, data):
    X, y, _ = data
    expected = np.mean([target in row for target, row in zip(y, fitted.predict(X))])
    assert fitted.score(X, y) == pytest.approx(expected)


# ---------------------------------------------------------------------- unknown and empty input
def test_unknown_items_in_the_prefix_are_skipped(fitted, data):
    X, _, _ = data
    rows = X[(X != -1).sum(axis=1) >= 2][:30]
    # an unknown item at the start of each prefix, and one just before its last click
    with_unknown = np.full((len(rows), rows.shape[1] + 2), -1)
    for out, row in zip(with_unknown, rows):
        clicks = row[row != -1]
        changed = [UNKNOWN_ITEM + 1, *clicks[:-1], UNKNOWN_ITEM, clicks[-1]]
        out[len(out) - len(changed) :] = changed
    model = copy.deepcopy(fitted)
    model.n_features_in_ = with_unknown.shape[1]  # wider prefixes than in fit, for this check
    expected = np.hstack([np.full((len(rows), 2), -1), rows])
    with pytest.warns(UserWarning, match="not seen in fit"):
        skipped = model.predict(with_unknown)
    np.testing.assert_array_equal(skipped, model.predict(expected))


def test_prefix_of_unknown_items_is_an_empty_session(fitted, data):
    """An empty prefix, and one of unknown items only, get the items clicked next most often."""
    X, y, _ = data
    unknown = np.full((1, X.shape[1]), -1)
    unknown[0, -2:] = [UNKNOWN_ITEM, UNKNOWN_ITEM + 1]
    padding = np.full((1, X.shape[1]), -1)
    empty = fitted.predict(padding)
    with pytest.warns(UserWarning, match="1 of 1 prefixes in X contain items not seen in fit"):
        np.testing.assert_array_equal(fitted.predict(unknown), empty)
    next_clicks = np.bincount(np.searchsorted(fitted.items_, y), minlength=fitted.n_items_)
    most_clicked = fitted.items_[np.argsort(-next_clicks, kind="stable")[:20]]
    np.testing.assert_array_equal(empty[0], most_clicked)


def test_unknown_targets_are_misses(fitted, data):
    X, y, _ = data
    assert fitted.score(X, np.full(len(y), UNKNOWN_ITEM)) == 0.0
    half = y.copy()
    half[::2] = UNKNOWN_ITEM
    hits = np.array([target in row for target, row in zip(y, fitted.predict(X))])
    assert fitted.score(X, half) == pytest.approx(hits[1::2].sum() / len(y))


def test_empty_rows_in_fit_are_left_out_with_a_warning(data):
    X, y, _ = data
    X = np.vstack([X, np.full((3, X.shape[1]), -1)])
    y = np.concatenate([y, [UNKNOWN_ITEM] * 3])  # would join the vocabulary if not dropped
    with pytest.warns(UserWarning, match="3 of .* no click .* left out of training"):
        model = tiny(max_iter=1).fit(X, y)
    assert UNKNOWN_ITEM not in model.items_
    with pytest.raises(ValueError, match="Every prefix in X is empty"):
        tiny(max_iter=1).fit(np.full((4, 3), -1), [1, 2, 3, 4])


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_not_fitted(cls, data):
    X, y, _ = data
    model = tiny(cls)
    with pytest.raises(NotFittedError, match="instance is not fitted yet"):
        model.predict(X)
    with pytest.raises(NotFittedError, match="instance is not fitted yet"):
        model.score(X, y)


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_clone_and_params(cls, data):
    X, y, _ = data
    model = tiny(cls).fit(X, y)
    copy_ = clone(model)
    assert copy_.get_params() == model.get_params()
    assert not hasattr(copy_, "items_") and not hasattr(copy_, "network_")
    params = model.get_params()
    assert model.set_params(**params).get_params() == params
    assert model.set_params(max_iter=7).get_params()["max_iter"] == 7
    assert cls().get_params()["random_state"] is None  # stored verbatim, never chosen
    assert cls().get_params()["device"] == "auto"


@pytest.mark.parametrize(
    "cls, params",
    [
        (VASERRecommender, {"beta": -1}),
        (VASERRecommender, {"n_flows": -1}),
        (VASERRecommender, {"latent_source": "x"}),
        (VASERRecommender, {"decoder": "x"}),
        (VASERRecommender, {"latent_dim": 0}),
        (VASERRecommender, {"beta_annealing_steps": -1}),
        (VASERRecommender, {"learning_rate_init": 0.0}),
        (VASERRecommender, {"learning_rate_decay": "cosine"}),
        (VASERRecommender, {"learning_rate_decay": 1.5}),
        (VASERRecommender, {"validation_fraction": 1.0}),
        (VASERRecommender, {"embedding_dropout": 1.0}),
        (VASERRecommender, {"batch_size": 0}),
        (NARMRecommender, {"attention": "x"}),
        (NARMRecommender, {"max_iter": 0}),
        (NARMRecommender, {"device": 3}),
    ],
)
def test_invalid_params_raise(cls, params, data):
    X, y, _ = data
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        tiny(cls, **params).fit(X, y)


def test_device_resolution(data):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device='gpu' is not a device: give 'auto', 'cpu'"):
        tiny(device="gpu").fit(*data[:2])
    if not torch.accelerator.is_available():  # torch's device types that are not this machine's
        for device in ("meta", "mps"):
            with pytest.raises(ValueError, match=rf"device='{device}' is not available here "
                               r"\(it has none\)"):
                resolve_device(device)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"CUDA device\(s\), numbered from 0"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_warm_start_continues_on_the_device_named_now(data):
    """A warm fit resolves ``device`` again: one that is not available raises and leaves the
    model as it was (it used to train on where the first fit ran)."""
    X, y = data[:2]
    model = tiny(device="cpu", warm_start=True).fit(X, y)
    before, epochs = model.predict(X, return_scores=True)[1], model.n_iter_
    for device in ("meta", "nonsense") + (() if torch.cuda.is_available() else ("cuda",)):
        with pytest.raises(ValueError, match=f"device='{device}'"):
            model.set_params(device=device).fit(X, y)
        assert model.device_ == torch.device("cpu") and model.n_iter_ == epochs
        np.testing.assert_array_equal(model.predict(X, return_scores=True)[1], before)


@pytest.fixture
def tf32_switches():
    """Restores torch's TensorFloat-32 switches after a test that sets them."""
    found = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    yield
    torch.set_float32_matmul_precision(found[0])
    torch.backends.cudnn.allow_tf32 = found[1]


def _switches():
    return torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32


@pytest.mark.usefixtures("tf32_switches")
def test_float32_on_cuda_turns_tf32_off_inside_and_restores_the_users_switches():
    torch.set_float32_matmul_precision("medium")
    torch.backends.cudnn.allow_tf32 = True
    with neural.float32_on_cuda(torch.device("cpu")):
        assert _switches() == ("medium", True)  # the CPU is left alone
    with neural.float32_on_cuda(torch.device("cuda")):
        assert _switches() == ("highest", False)
        with neural.float32_on_cuda(torch.device("cuda")):  # a prediction inside a fit
            assert _switches() == ("highest", False)
        assert _switches() == ("highest", False)
    assert _switches() == ("medium", True)
    with pytest.raises(RuntimeError, match="inside"):
        with neural.float32_on_cuda(torch.device("cuda")):
            raise RuntimeError("inside")
    assert _switches() == ("medium", True)


@pytest.mark.usefixtures("tf32_switches")
def test_float32_on_cuda_restores_the_switches_after_overlapping_threads():
    """Two fits on two threads, the first leaving while the second is inside: the switches the
    first found come back only when the second leaves."""
    torch.set_float32_matmul_precision("high")
    first_inside, second_inside, first_left = (threading.Event() for _ in range(3))
    seen = {}

    def first():
        with neural.float32_on_cuda(torch.device("cuda")):
            first_inside.set()
            second_inside.wait(5)
        first_left.set()

    def second():
        first_inside.wait(5)
        with neural.float32_on_cuda(torch.device("cuda")):
            second_inside.set()
            first_left.wait(5)
            seen["after the first left"] = _switches()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen["after the first left"] == ("highest", False)
    assert torch.get_float32_matmul_precision() == "high"


@pytest.mark.parametrize(
    "device, expected", [("cpu", False), ("cuda", True), ("cuda:1", True),
                         ("auto", torch.cuda.is_available())],
)
def test_non_deterministic_tag_says_where_runs_differ_in_rounding(device, expected):
    assert VASERRecommender(device=device).__sklearn_tags__().non_deterministic is expected


def test_device_auto_resolved_in_fit(data):
    X, y, _ = data
    model = tiny(max_iter=1, device="auto")
    assert model.device == "auto"
    model.fit(X, y)
    assert model.device == "auto"  # the parameter is left as given
    assert isinstance(model.device_, torch.device)
    assert model.device_.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize(
    "params",
    [
        {"n_flows": 0},
        {"amortized_flows": False},
        {"latent_source": "session", "decoder": "latent"},
        {"attention": "softmax", "beta_annealing_steps": 0},
        {"learning_rate_decay": "linear", "n_negatives": 8},
    ],
    ids=["vrm", "shared-flows", "session-latent", "softmax", "linear-sampled"],
)
def test_variants_fit_and_predict(params, data):
    X, y, _ = data
    model = tiny(max_iter=1, **params).fit(X, y)
    assert model.n_iter_ == 1 and np.isfinite(model.loss_curve_).all()
    assert set(model.loss_terms_[0]) == {"reconstruction", "regularization"}
    assert model.predict(X[:5]).shape == (5, 20)
    assert (model.network_.flows is None) == (params.get("n_flows") == 0)


def _vaser_network(**params):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return VASERNetwork(**{**TINY_VASER_NETWORK, **params}).eval()


PREFIXES = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 1, 2], [3, 3, 3]])


def test_auto_annealing_follows_the_fits_length(data):
    """``"auto"`` anneals over a third of a short fit's steps, exactly as that integer would."""
    X, y, _ = data
    lengths = (X != -1).sum(axis=1)
    batches = sum(-(-np.sum(lengths == n) // SMALL_BATCH) for n in np.unique(lengths) if n > 0)
    auto = tiny(max_iter=3, batching="prefixes").fit(X, y)  # batches counted as above
    assert auto.beta_annealing_steps == "auto"
    assert auto.beta_annealing_steps_ == 3 * batches // 3 < 2000
    explicit = tiny(
        max_iter=3, batching="prefixes", beta_annealing_steps=auto.beta_annealing_steps_
    ).fit(X, y)
    assert explicit.beta_annealing_steps_ == auto.beta_annealing_steps_
    np.testing.assert_array_equal(auto.loss_curve_, explicit.loss_curve_)
    assert tiny(max_iter=3, beta_annealing_steps=7).fit(X, y).beta_annealing_steps_ == 7


def test_default_beta_trains_without_the_flow_term(data):
    """``beta=0`` (the default): the flow term is computed and recorded but not trained on."""
    X, y, _ = data
    assert VASERRecommender().beta == 0.0
    model = tiny(beta=0.0).fit(X, y)
    reconstruction = [terms["reconstruction"] for terms in model.loss_terms_]
    assert all(terms["regularization"] > 0 for terms in model.loss_terms_)
    np.testing.assert_allclose(model.loss_curve_, reconstruction, rtol=1e-6)
    paper = tiny(beta=0.2).fit(X, y)
    assert paper.loss_curve_[-1] > paper.loss_terms_[-1]["reconstruction"]


@pytest.mark.parametrize(
    "steps, total, expected",
    [("auto", 10**6, 2000), ("auto", 6000, 2000), ("auto", 5999, 1999), ("auto", 30, 10),
     ("auto", 2, 1), (0, 30, 0), (500, 30, 500)],
)
def test_resolve_annealing_steps(steps, total, expected):
    assert neural.resolve_annealing_steps(steps, total) == expected


@pytest.mark.parametrize("decoder", ["latent", "latent_attention"])
def test_the_latent_decoder_drops_the_attention_context(decoder):
    """With ``decoder="latent"`` the scores ignore ``c_l``: changing the attention weights
    (which shape ``c_l`` only, the latent coming from ``h_t``) leaves the query unchanged."""
    network = _vaser_network(decoder=decoder)
    with torch.no_grad():
        before = network.query(PREFIXES)
        network.encoder.v.weight.mul_(-3.0)
        after = network.query(PREFIXES)
    if decoder == "latent":
        assert network.bilinear.in_features == 4  # z_K only
        assert torch.equal(after, before)
    else:
        assert network.bilinear.in_features == 4 + 6  # [z_K; c_l]
        assert not torch.allclose(after, before)


@pytest.mark.parametrize("attention", ["narm", "softmax"])
def test_attention_weights(attention):
    """``c_l`` is the sum of the GRU states weighted by NARM's raw weights, or by their softmax
    over the clicks (positive, summing to one) with ``attention="softmax"``."""
    encoder = _vaser_network(attention=attention).encoder
    seen = {}
    encoder.gru.register_forward_hook(lambda m, i, out: seen.update(states=out[0]))
    encoder.v.register_forward_hook(lambda m, i, out: seen.update(raw=out))
    with torch.no_grad():
        _, c_l = encoder(PREFIXES, 0.0, None)
    raw = seen["raw"]  # (B, L, 1)
    ones = torch.ones(len(PREFIXES), 1)
    if attention == "softmax":
        weights = torch.softmax(raw, dim=1)
        assert (weights > 0).all()
        torch.testing.assert_close(weights.sum(dim=1), ones)
    else:
        weights = raw
        assert not torch.allclose(weights.sum(dim=1), ones)  # so the two cases differ here
    torch.testing.assert_close(c_l, (weights * seen["states"]).sum(dim=1))


# ---------------------------------------------------------------------- seeding
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_same_random_state_gives_the_same_model(cls, data):
    X, y, _ = data
    model = tiny(cls)
    first = model.fit(X, y).predict(X)
    curve, first_weights = list(model.loss_curve_), weights(model)
    second = model.fit(X, y).predict(X)  # refit of the same object
    np.testing.assert_array_equal(first, second)
    assert model.loss_curve_ == curve
    assert_same_weights(weights(model), first_weights)
    other = tiny(cls).fit(X, y)  # a new object
    assert other.loss_curve_ == curve
    assert_same_weights(weights(other), first_weights)
    changed = tiny(cls, random_state=1).fit(X, y)
    assert changed.loss_curve_ != curve
    assert not torch.equal(
        changed.network_.encoder.embedding.weight, other.network_.encoder.embedding.weight
    )
    # a RandomState instance is accepted (and consumed, as in scikit-learn)
    tiny(cls, random_state=np.random.RandomState(0), max_iter=1).fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_fit_and_predict_leave_the_global_rngs_alone(cls, data):
    X, y, _ = data
    torch_state, numpy_state, python_state = (
        torch.get_rng_state(), np.random.get_state(), random.getstate()
    )
    model = tiny(cls, early_stopping=True, validation_fraction=0.2).fit(X, y)
    model.predict(X)
    pickle.loads(pickle.dumps(model)).predict(X[:3])  # loading rebuilds the network
    assert torch.equal(torch_state, torch.get_rng_state())
    after = np.random.get_state()
    assert numpy_state[0] == after[0] and (numpy_state[1] == after[1]).all()
    assert numpy_state[2:] == after[2:]
    assert python_state == random.getstate()


# ---------------------------------------------------------------------- persistence
def test_pickle_and_joblib_round_trips(fitted, data, tmp_path):
    X, y, _ = data
    expected = fitted.predict(X)
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    for loaded in (pickle.loads(pickle.dumps(fitted)), joblib.load(path)):
        np.testing.assert_array_equal(loaded.predict(X), expected)
        assert loaded.score(X, y) == fitted.score(X, y)
        assert loaded.device_ == torch.device("cpu") and not loaded.network_.training
        assert loaded.get_params() == fitted.get_params()
        assert loaded.loss_curve_ == fitted.loss_curve_
        np.testing.assert_array_equal(loaded.items_, fitted.items_)
        assert_same_weights(weights(loaded), weights(fitted))
    assert hasattr(fitted, "network_")  # pickling left the original alone


def _modules_in(value, seen=None):
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        return [value]
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple, set)):
        children = list(value)
    elif hasattr(value, "__dict__") and not isinstance(value, (type, torch.Tensor)):
        children = list(vars(value).values())
    else:
        return []
    return [module for child in children for module in _modules_in(child, seen)]


def test_pickled_state_holds_cpu_tensors_not_modules(fitted):
    state = fitted.__getstate__()
    assert "network_" not in state
    assert not _modules_in(state)
    stored = state["_network_weights"]
    assert isinstance(stored, dict) and stored.keys() == fitted.network_.state_dict().keys()
    assert all(isinstance(t, torch.Tensor) and t.device.type == "cpu" for t in stored.values())
    assert isinstance(state["device_"], str)
    assert b"torch.nn.modules" not in pickle.dumps(fitted)


def test_unfitted_model_pickles(data):
    model = pickle.loads(pickle.dumps(tiny()))
    assert model.get_params() == tiny().get_params()
    X, y, _ = data
    model.fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")
def test_model_pickled_on_cuda_loads_on_the_cpu_with_a_warning(fitted, data):
    X, _, _ = data
    expected = fitted.predict(X)
    blob = pickled_as_if_trained_on(fitted, "cuda:0")
    with pytest.warns(UserWarning, match="trained on CUDA.*loaded on the CPU"):
        loaded = pickle.loads(blob)
    assert loaded.device_ == torch.device("cpu")
    assert next(loaded.network_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), expected)


# ---------------------------------------------------------------------- learning
def ring_sessions(n_sessions, n_items, random_state):
    """Sessions that walk a ring of items, one step at a time, clockwise or anticlockwise.

    The next click is the last click plus the session's direction, which only the ORDER of the
    last two clicks reveals: item-to-item co-occurrence sees both neighbours of the last click
    as equally likely, a sequence model learns the direction.
    """
    rng = np.random.RandomState(random_state)
    lengths = rng.randint(3, 8, n_sessions)
    direction = rng.choice([-1, 1], n_sessions)
    start = rng.randint(n_items, size=n_sessions)
    steps = np.concatenate([np.arange(length) for length in lengths])
    session_ids = np.repeat(np.arange(n_sessions), lengths)
    items = (np.repeat(start, lengths) + np.repeat(direction, lengths) * steps) % n_items
    return session_ids, items, np.arange(len(items), dtype=float)


def test_vaser_learns_the_order_of_clicks_and_beats_item_knn():
    X, y, _ = sessions_to_prefixes(*ring_sessions(600, 40, random_state=0), max_len=8)
    X_test, y_test, _ = sessions_to_prefixes(*ring_sessions(200, 40, random_state=1), max_len=8)
    model = VASERRecommender(
        embedding_dim=16, hidden_size=16, latent_dim=8, n_flows=2, embedding_dropout=0.0,
        context_dropout=0.0, learning_rate_init=0.01, max_iter=4, batch_size=32,
        early_stopping=False, random_state=0, device="cpu",  # the thresholds' trajectory
    ).fit(X, y)
    curve = model.loss_curve_
    assert all(later < earlier for earlier, later in zip(curve, curve[1:])), curve
    assert curve[-1] < 0.5 * curve[0]
    reconstruction = [terms["reconstruction"] for terms in model.loss_terms_]
    assert reconstruction[-1] < 0.5 * reconstruction[0]

    knn = ItemKNNRecommender().fit(X, y)
    vaser_top, knn_top = model.predict(X_test), knn.predict(X_test)
    # Recall@20 saturates on 40 items (both neighbours are in every top 20); rank quality does not.
    vaser_mrr, knn_mrr = mrr_at_k(y_test, vaser_top), mrr_at_k(y_test, knn_top)
    vaser_hit, knn_hit = (vaser_top[:, 0] == y_test).mean(), (knn_top[:, 0] == y_test).mean()
    # The best possible top-1 accuracy is about 0.87 (a session's first step is a coin toss);
    # without the direction it is about 0.5.
    assert vaser_hit > 0.8 and knn_hit < 0.6, (vaser_hit, knn_hit)
    assert vaser_mrr > knn_mrr + 0.1, (vaser_mrr, knn_mrr)


# ---------------------------------------------------------------------- training loop
def _fail_loss_term(monkeypatch, network_cls, term, value):
    original = network_cls.loss_terms

    def diverging(self, x, y, generator):
        terms = dict(original(self, x, y, generator))
        terms[term] = terms[term] * value
        return terms

    monkeypatch.setattr(network_cls, "loss_terms", diverging)


@pytest.mark.parametrize(
    "cls, term, value",
    [
        (VASERRecommender, "regularization", float("nan")),
        (VASERRecommender, "reconstruction", float("inf")),
        (NARMRecommender, "reconstruction", float("nan")),
    ],
)
def test_diverged_loss_names_the_term(cls, term, value, data, monkeypatch):
    X, y, _ = data
    _fail_loss_term(monkeypatch, NETWORKS[cls], term, value)
    model = tiny(cls)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing was trained: no warning about kept weights
        with pytest.raises(FloatingPointError, match=f"The {term} term of the loss became"):
            model.fit(X, y)
    with pytest.raises(NotFittedError):  # the failed fit left it as it was
        model.predict(X)


def test_huge_learning_rate_stops_with_an_error(data):
    X, y, _ = data
    with pytest.raises(FloatingPointError, match="term.* of the loss became .* at step"):
        tiny(learning_rate_init=1e8).fit(X, y)


def test_check_finite_names_the_term_that_diverged_first():
    nan, inf = float("nan"), float("inf")

    def steps(**terms):
        return {name: torch.tensor(values) for name, values in terms.items()}

    trainer._check_finite(steps(loss=[1.0, 2.0], reconstruction=[1.0, 2.0]), epoch=1)
    # the regulariser diverged at step 2 and poisoned everything after it
    per_step = steps(
        loss=[1.0, nan, nan], reconstruction=[1.0, 1.0, nan], regularization=[0.0, nan, nan]
    )
    with pytest.raises(FloatingPointError, match=r"The regularization term .* nan at step 2 of "
                       r"epoch 3\. The flow/KL regulariser diverged"):
        trainer._check_finite(per_step, epoch=3)
    per_step = steps(loss=[inf], reconstruction=[inf], regularization=[0.5])
    with pytest.raises(FloatingPointError, match="The reconstruction term .* inf at step 1"):
        trainer._check_finite(per_step, epoch=1)
    per_step = steps(loss=[nan], reconstruction=[nan], regularization=[inf])
    with pytest.raises(FloatingPointError, match="The reconstruction and regularization terms"):
        trainer._check_finite(per_step, epoch=1)


def test_keyboard_interrupt_keeps_the_best_weights(data, monkeypatch):
    X, y, _ = data
    interrupt_after(monkeypatch, VASERNetwork, epochs=2)
    snapshots = scripted_validation(monkeypatch, [0.3, 0.2, 0.9])
    model = tiny(max_iter=5, early_stopping=True, n_iter_no_change=5)
    with pytest.warns(UserWarning, match=r"interrupted during epoch 3.*best weights .*epoch 1"):
        model.fit(X, y)
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2
    assert model.validation_scores_ == [0.3, 0.2] and model.best_validation_score_ == 0.3
    assert_same_weights(weights(model), snapshots[0])
    assert not model.network_.training
    monkeypatch.undo()
    assert model.predict(X[:5]).shape == (5, 20)
    pickle.loads(pickle.dumps(model)).predict(X[:5])


def test_keyboard_interrupt_without_validation(data, monkeypatch):
    X, y, _ = data
    interrupt_after(monkeypatch, VASERNetwork, epochs=1)
    model = tiny(max_iter=5)
    with pytest.warns(UserWarning, match="interrupted during epoch 2.*last complete step"):
        model.fit(X, y)
    assert model.n_iter_ == 1 and model.validation_scores_ is None
    monkeypatch.undo()
    assert model.predict(X[:5]).shape == (5, 20)


def test_fit_seeds_no_global_generator_of_any_device(data, monkeypatch):
    X, y, _ = data
    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)  # manual_seed calls it
    tiny(max_iter=1).fit(X, y)
    assert seeded == []


def test_keyboard_interrupt_before_an_epoch_leaves_the_model_as_it_was(data, monkeypatch):
    X, y, _ = data
    model = tiny(max_iter=1).fit(X, y)
    before, expected = weights(model), model.predict(X[:20])
    interrupt_after(monkeypatch, VASERNetwork, epochs=0)
    for estimator in (model, model.set_params(warm_start=True)):
        with pytest.warns(UserWarning, match="interrupted during epoch"), \
                pytest.raises(KeyboardInterrupt):
            estimator.fit(X, y)
        assert model.n_iter_ == 1
        assert_same_weights(weights(model), before)
    fresh = tiny()
    with pytest.warns(UserWarning, match="interrupted during epoch 1"), \
            pytest.raises(KeyboardInterrupt):
        fresh.fit(X, y)
    monkeypatch.undo()
    np.testing.assert_array_equal(model.predict(X[:20]), expected)
    with pytest.raises(NotFittedError):
        fresh.predict(X[:1])


@pytest.mark.parametrize(
    "scores, best, kept",  # two epochs, then the warm start's own start and two epochs
    [([0.8, 0.9, 0.3, 0.4, 0.5], 0.5, 4), ([0.8, 0.9, 0.6, 0.4, 0.5], 0.6, 2)],
)
def test_a_warm_start_with_validation_beats_its_own_start(data, monkeypatch, scores, best,
                                                          kept):
    X, y, _ = data
    snapshots = scripted_validation(monkeypatch, scores)
    model = tiny(early_stopping=True, n_iter_no_change=5, warm_start=True).fit(X, y)
    assert model.best_validation_score_ == 0.9
    model.fit(X, y)  # its rows are not those an earlier best was measured on
    assert model.validation_scores_ == scores[:2] + scores[3:]
    assert model.best_validation_score_ == best and model.n_iter_ == 4
    assert_same_weights(weights(model), snapshots[kept])


def test_validation_scores_stay_one_per_epoch_across_warm_starts(data, monkeypatch):
    """An epoch trained without validation is a NaN among the scores, so that they line up
    with ``loss_curve_``."""
    X, y, _ = data
    scripted_validation(monkeypatch, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    model = tiny(max_iter=1, early_stopping=True, warm_start=True).fit(X, y)
    model.set_params(early_stopping=False).fit(X, y)
    assert model.validation_scores_ is None
    model.set_params(early_stopping=True).fit(X, y)  # scores its start (0.4), then epoch 3
    np.testing.assert_array_equal(model.validation_scores_, [0.3, np.nan, 0.5])
    assert len(model.validation_scores_) == len(model.loss_curve_) == model.n_iter_ == 3


def test_no_annealing_weighs_the_regulariser_from_the_first_step(data, monkeypatch):
    X, y, _ = data
    weights_seen = []
    real = trainer._train_epoch

    def train_epoch(*arguments):
        terms, step, weight = real(*arguments)
        weights_seen.append(weight)
        return terms, step, weight

    monkeypatch.setattr(trainer, "_train_epoch", train_epoch)
    one_step = {"batch_size": len(X), "batching": "prefixes", "max_iter": 1}  # X's rows: 1 length
    rows = (X != -1).sum(axis=1) == 3
    for steps, expected in ((0, 0.5), (2, 0.0)):
        weights_seen.clear()
        tiny(beta=0.5, beta_annealing_steps=steps, **one_step).fit(X[rows], y[rows])
        assert weights_seen == [expected]


def test_a_model_pickled_by_an_older_skvaser_keeps_its_steps(data):
    """Older versions kept the optimiser steps in ``_steps``; a warm start continues from them."""
    X, y, _ = data
    model = tiny(warm_start=True).fit(X, y)
    state = model.__getstate__()
    steps = state["_history"].steps
    older = copy.deepcopy(state)
    older["_steps"] = steps
    del vars(older["_history"])["steps"]  # the class default, 0, reads through
    restored = VASERRecommender.__new__(VASERRecommender)
    restored.__setstate__(older)
    assert restored._history.steps == steps > 0 and not hasattr(restored, "_steps")
    np.testing.assert_array_equal(restored.fit(X, y).loss_curve_, model.fit(X, y).loss_curve_)


def test_a_warm_start_draws_batches_the_first_fit_did_not(data, monkeypatch):
    """Each warm fit goes on with the random streams (batch order, dropout, latent noise) from
    the steps already taken instead of replaying the first fit's."""
    X, y, _ = data
    orders = []
    real = SessionBatches.shuffled

    def shuffled(self, generator):
        batches = list(real(self, generator))
        orders.append([rows.tolist() for rows, _, _ in batches])
        return iter(batches)

    monkeypatch.setattr(SessionBatches, "shuffled", shuffled)
    model = tiny(max_iter=1, warm_start=True)
    model.fit(X, y)
    model.fit(X, y)
    assert len(orders) == 2 and orders[0] != orders[1]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_warm_start_continues_training(cls, data):
    X, y, _ = data
    model = tiny(cls, warm_start=True)
    model.fit(X, y)
    curve, items, before = list(model.loss_curve_), model.items_.copy(), weights(model)
    model.fit(X, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 4
    assert model.loss_curve_[:2] == curve
    np.testing.assert_array_equal(model.items_, items)
    assert any(not torch.equal(before[n], t) for n, t in weights(model).items())
    # the continuation keeps learning from where it was: its first epoch beats a fresh start
    assert model.loss_curve_[2] < curve[0]
    # rows with items outside the first vocabulary are left out, with a warning
    X_new = X.copy()
    X_new[:5, -1] = UNKNOWN_ITEM
    with pytest.warns(UserWarning, match="5 rows with items unknown"):
        model.fit(X_new, y)
    assert model.n_iter_ == 6
    # warm_start=False starts over
    model.set_params(warm_start=False).fit(X, y)
    assert model.n_iter_ == 2 and model.loss_curve_ == curve


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_the_fitted_network_keeps_the_parameters_it_was_built_with(cls, data, tmp_path):
    X, y, _ = data
    model = tiny(cls, warm_start=True).fit(X, y)
    expected, width = model.predict(X[:20]), model.embedding_dim
    model.set_params(embedding_dim=2 * width, attention="softmax")
    # a warm start does not continue the network under other parameters, and leaves it whole
    message = (
        f"built with embedding_dim={width}, attention='narm'; the estimator now has "
        f"embedding_dim={2 * width}, attention='softmax'.*warm_start=False"
    )
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    np.testing.assert_array_equal(model.predict(X[:20]), expected)
    # saved and loaded, it is the network that was fitted, not one of the new parameters
    dump(model, tmp_path / "model.npz")
    for restored in (pickle.loads(pickle.dumps(model)), load(tmp_path / "model.npz")):
        np.testing.assert_array_equal(restored.predict(X[:20]), expected)
    model.set_params(warm_start=False).fit(X, y)  # a fresh fit takes the new ones
    assert model.network_.encoder.embedding.embedding_dim == 2 * width


def test_validation_holds_out_the_last_rows(data, monkeypatch):
    X, y, _ = data
    seen = {}
    real = neural.train_network

    def spy(network, train, validation, **kwargs):
        seen["train"], seen["validation"] = train, validation
        return real(network, train, validation, **kwargs)

    monkeypatch.setattr(neural, "train_network", spy)
    model = tiny(early_stopping=True, validation_fraction=0.2, batching="prefixes")
    model.fit(X, y)
    n_valid = int(round(0.2 * len(X)))
    for name, rows in (("train", slice(None, -n_valid)), ("validation", slice(-n_valid, None))):
        batches = seen[name]
        assert batches.n_samples == len(X[rows])
        expected, _ = compact_codes(model._encode(X[rows]))
        np.testing.assert_array_equal(batches.codes.numpy(), expected)
        np.testing.assert_array_equal(batches.targets.numpy(), model._encode(y[rows]))
    # the reported score is the model's Recall@20 on those rows (best weights restored)
    assert model.score(X[-n_valid:], y[-n_valid:]) == pytest.approx(model.best_validation_score_)
    # batches of sessions are made of the training rows alone
    tiny(early_stopping=True, validation_fraction=0.2, batching="sessions").fit(X, y)
    assert isinstance(seen["train"], SessionBatches)
    assert seen["train"].n_samples == len(X) - n_valid
    np.testing.assert_array_equal(seen["train"].targets.numpy(), model._encode(y[:-n_valid]))


def test_early_stopping_restores_the_best_weights(data, monkeypatch):
    X, y, _ = data
    snapshots = scripted_validation(monkeypatch, [0.2, 0.5, 0.4, 0.45, 0.9, 0.9])
    model = tiny(max_iter=10, early_stopping=True, n_iter_no_change=2).fit(X, y)
    assert model.n_iter_ == 4  # two epochs without improvement after epoch 2
    assert model.validation_scores_ == [0.2, 0.5, 0.4, 0.45]
    assert model.best_validation_score_ == 0.5 == max(model.validation_scores_)
    assert_same_weights(weights(model), snapshots[1])
    assert len(model.loss_curve_) == len(model.loss_terms_) == 4


def test_early_stopping_bookkeeping(data):
    X, y, _ = data
    model = tiny(max_iter=3, early_stopping=True, n_iter_no_change=1).fit(X, y)
    assert 1 <= model.n_iter_ <= 3
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert all(0.0 <= score <= 1.0 for score in model.validation_scores_)
    no_validation = tiny(max_iter=2).fit(X, y)
    assert no_validation.validation_scores_ is None
    assert no_validation.best_validation_score_ is None
    with pytest.raises(ValueError, match="validation_fraction"):
        tiny(early_stopping=True, validation_fraction=0.001).fit(X[:50], y[:50])


def test_verbose_prints_one_line_per_epoch(data, capsys):
    X, y, _ = data
    model = tiny(max_iter=3, early_stopping=True, n_iter_no_change=5, verbose=1).fit(X, y)
    *lines, kept = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == model.n_iter_ == 3
    best = model.validation_scores_.index(model.best_validation_score_) + 1
    assert kept == (f"VASERRecommender keeping the weights of epoch {best} (valid R@20 "
                    f"{model.best_validation_score_:.4f})")
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"VASERRecommender epoch {epoch}/3 | loss ")
        for part in ("reconstruction", "regularization", "beta", "valid R@20", "MRR@20"):
            assert part in line
        assert re.search(r"\| [\d,]+ samples/s \| [\d.]+ s \| elapsed [\d.]+ s \| left ", line)
    assert lines[-1].endswith("left 0.0 s at most")
    tiny(max_iter=1).fit(X, y)
    assert capsys.readouterr().out == ""


def test_verbose_says_when_early_stopping_ends_training(data, capsys, monkeypatch):
    X, y, _ = data
    scripted_validation(monkeypatch, [0.5, 0.6, 0.55, 0.58, 0.9])
    model = tiny(max_iter=5, early_stopping=True, n_iter_no_change=2, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert model.n_iter_ == 4
    assert lines[-2:] == [
        "VASERRecommender stopped after epoch 4: valid R@20 gained nothing over 2 epochs",
        "VASERRecommender keeping the weights of epoch 2 (valid R@20 0.6000)",
    ]


def test_verbose_2_reports_progress_within_epochs_in_plain_lines(data, capsys):
    X, y, _ = data
    model = tiny(NARMRecommender, max_iter=2, batch_size=8, verbose=2).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()  # captured: not a terminal, no bar
    epoch_lines = [line for line in lines if " | loss " in line]
    assert len(epoch_lines) == model.n_iter_ == 2
    assert epoch_lines[-1].endswith("left 0.0 s")  # no early stopping: an exact count
    within = [line for line in lines if " | batch " in line]
    assert within and all(line.startswith("NARMRecommender epoch ") for line in within)
    assert all(re.search(r" \| batch \d+/\d+ \| .* left in the epoch$", line) for line in within)
    assert len(within) <= 2 * (PLAIN_LINES - 1)


# ---------------------------------------------------------------------- model selection
def test_grid_search_tunes_beta_and_n_flows_through_a_pipeline(data):
    X, y, groups = data
    pipeline = Pipeline([("rec", tiny(max_iter=2, batch_size=64, handle_unknown="ignore"))])
    grid = {"rec__beta": [0.0, 0.5], "rec__n_flows": [0, 2]}
    search = GridSearchCV(
        pipeline, grid, scoring=SCORERS, refit="recall@20", cv=SessionSplitter(n_splits=2),
        n_jobs=2, error_score="raise",
    ).fit(X, y, groups=groups)
    results = search.cv_results_
    assert len(results["params"]) == 4
    for name in ("recall@20", "mrr@20"):
        scores = results[f"mean_test_{name}"]
        assert np.isfinite(scores).all() and ((0 <= scores) & (scores <= 1)).all()
    assert (results["mean_test_mrr@20"] <= results["mean_test_recall@20"]).all()
    best = search.best_estimator_.named_steps["rec"]
    assert {"rec__beta": best.beta, "rec__n_flows": best.n_flows} == search.best_params_
    assert search.best_index_ == np.argmax(results["mean_test_recall@20"])
    assert best.n_iter_ == 2 and search.predict(X[:4]).shape == (4, 20)
