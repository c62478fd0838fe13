"""The CUDA path of the neural recommenders: training, prediction and moving models across devices.

Run only where a GPU exists (``pytest -m cuda``); skipped elsewhere.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch

from skvaser import NARMRecommender, VASERRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions
from skvaser.nn.batching import compact_codes

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TINY = {
    VASERRecommender: dict(
        embedding_dim=8, hidden_size=8, latent_dim=4, n_flows=2, max_iter=2,
        early_stopping=False, batch_size=32, random_state=0,
    ),
    NARMRecommender: dict(
        embedding_dim=8, hidden_size=8, max_iter=2, early_stopping=False, batch_size=32,
        random_state=0,
    ),
}
ESTIMATORS = list(TINY)


@pytest.fixture(scope="module")
def data():
    return sessions_to_prefixes(*make_sessions(150, 40, random_state=0), max_len=8)


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda cls: cls.__name__)
def on_cuda(request, data):
    X, y, _ = data
    return request.param(**TINY[request.param], device="auto").fit(X, y)


def _scores(model, X):
    """Scores of every known item, (n_samples, n_items), on the CPU (float64)."""
    x = torch.as_tensor(compact_codes(model._encode(X))[0], device=model.device_)
    lengths = (x != 0).sum(dim=1)
    out = np.empty((len(X), model.n_items_))
    network = model.network_.eval()
    with torch.no_grad():
        for length in lengths.unique().tolist():  # one length per forward pass, as in ranking
            rows = (lengths == length).nonzero().flatten()
            query = network.query(x[rows, x.shape[1] - length :])
            out[rows.cpu().numpy()] = (query @ network.item_weights().T).double().cpu().numpy()
    return out


def test_auto_device_trains_on_cuda(on_cuda, data):
    X, y, _ = data
    assert on_cuda.device == "auto" and on_cuda.device_.type == "cuda"
    assert all(p.device.type == "cuda" for p in on_cuda.network_.parameters())
    assert on_cuda.n_iter_ == 2 and np.isfinite(on_cuda.loss_curve_).all()
    recommended = on_cuda.predict(X)
    assert recommended.shape == (len(X), 20) and np.isin(recommended, on_cuda.items_).all()
    np.testing.assert_array_equal(recommended, on_cuda.predict(X))
    assert 0.0 <= on_cuda.score(X, y) <= 1.0


def test_pickle_stores_cpu_tensors_and_reloads_on_cuda(on_cuda, data, tmp_path):
    X, _, _ = data
    state = on_cuda.__getstate__()
    assert all(t.device.type == "cpu" for t in state["_network_weights"].values())
    assert state["device_"].startswith("cuda")
    expected = on_cuda.predict(X)
    joblib.dump(on_cuda, tmp_path / "model.joblib")
    for loaded in (pickle.loads(pickle.dumps(on_cuda)), joblib.load(tmp_path / "model.joblib")):
        assert loaded.device_.type == "cuda"
        assert all(p.device.type == "cuda" for p in loaded.network_.parameters())
        np.testing.assert_array_equal(loaded.predict(X), expected)


def test_cuda_model_loads_on_a_cpu_only_machine(on_cuda, data, monkeypatch):
    X, _, _ = data
    blob = pickle.dumps(on_cuda)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="trained on CUDA.*loaded on the CPU"):
        on_cpu = pickle.loads(blob)
    monkeypatch.undo()
    assert on_cpu.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in on_cpu.network_.parameters())
    _assert_agree(_scores(on_cuda, X), _scores(on_cpu, X), on_cuda.predict(X), on_cpu.predict(X))


def _assert_agree(gpu_scores, cpu_scores, gpu_top, cpu_top):
    """GPU and CPU scores agree to float32 rounding; rankings differ only among near-ties."""
    np.testing.assert_allclose(cpu_scores, gpu_scores, rtol=1e-4, atol=1e-4)
    differ = (gpu_top != cpu_top).any(axis=1)
    assert differ.mean() <= 0.05, differ.mean()
    overlap = np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(gpu_top, cpu_top)])
    assert overlap >= 0.99, overlap


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_cpu_and_cuda_training_agree_closely(cls, data):
    """Same seed, same data: the CPU and the GPU take the same first steps."""
    X, y, _ = data
    params = {**TINY[cls], "max_iter": 1, "embedding_dropout": 0.0, "context_dropout": 0.0}
    cpu = cls(**params, device="cpu").fit(X, y)
    gpu = cls(**params, device="cuda").fit(X, y)
    # Initial weights and the batch order are drawn on the CPU from the same seed. Without
    # dropout NARM is then deterministic up to float32 rounding; VASER's latent noise comes from
    # a CUDA generator on the GPU, so its curve agrees only in the first decimals.
    rtol = 1e-3 if cls is NARMRecommender else 0.05
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=rtol)
    if cls is NARMRecommender:
        _assert_agree(_scores(gpu, X), _scores(cpu, X), gpu.predict(X), cpu.predict(X))


def test_same_seed_on_cuda_is_reproducible(data):
    X, y, _ = data
    first = VASERRecommender(**TINY[VASERRecommender], device="cuda").fit(X, y)
    second = VASERRecommender(**TINY[VASERRecommender], device="cuda").fit(X, y)
    # scatter-add in the embedding backward is not bitwise deterministic on CUDA
    np.testing.assert_allclose(first.loss_curve_, second.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(_scores(first, X), _scores(second, X), rtol=1e-3, atol=1e-3)


def test_fit_on_cuda_leaves_the_global_rngs_alone(data):
    X, y, _ = data
    cpu_state, cuda_state = torch.get_rng_state(), torch.cuda.get_rng_state()
    VASERRecommender(**TINY[VASERRecommender], device="cuda").fit(X, y).predict(X[:5])
    assert torch.equal(cpu_state, torch.get_rng_state())
    assert torch.equal(cuda_state, torch.cuda.get_rng_state())


def test_early_stopping_on_cuda(data):
    X, y, _ = data
    params = {**TINY[VASERRecommender], "early_stopping": True, "max_iter": 3}
    model = VASERRecommender(**params, device="cuda").fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    n_valid = int(round(0.1 * len(X)))
    assert model.score(X[-n_valid:], y[-n_valid:]) == pytest.approx(model.best_validation_score_)
