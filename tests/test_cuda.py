"""The CUDA path of the neural recommenders: training, prediction and moving models across devices.

Run only where a GPU exists (``pytest -m cuda``); skipped elsewhere.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch

import skvaser.models.neural as neural
from skvaser import (
    GRU4RecRecommender,
    NARMRecommender,
    ReLaVaRRecommender,
    STAMPRecommender,
    VASERRecommender,
    sessions_to_prefixes,
)
from skvaser.datasets import make_sessions
from skvaser.nn.batching import compact_codes
from skvaser.nn.trainer import _adam

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

_SHORT = dict(max_iter=2, early_stopping=False, batch_size=32, random_state=0)
#: Every neural model, small, by test id: (class, parameters, whether its training draws random
#: numbers on the device beyond dropout: latent noise or sampled negatives).
CASES = {
    "VASER": (VASERRecommender, dict(embedding_dim=8, hidden_size=8, latent_dim=4, n_flows=2,
                                     **_SHORT), True),
    "VASER-sampled": (VASERRecommender, dict(embedding_dim=8, hidden_size=8, latent_dim=4,
                                             n_flows=2, n_negatives=16, **_SHORT), True),
    "NARM": (NARMRecommender, dict(embedding_dim=8, hidden_size=8, **_SHORT), False),
    "STAMP": (STAMPRecommender, dict(embedding_dim=8, **_SHORT), False),
    "GRU4Rec": (GRU4RecRecommender, dict(embedding_dim=8, hidden_size=8, **_SHORT), False),
    "GRU4Rec-bpr-max": (GRU4RecRecommender, dict(embedding_dim=8, hidden_size=8, loss="bpr_max",
                                                 n_negatives=16, **_SHORT), True),
    "ReLaVaR": (ReLaVaRRecommender, dict(embedding_dim=8, hidden_size=8, **_SHORT), True),
}

def _make(case, **params):
    cls, defaults, _ = CASES[case]
    return cls(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    return sessions_to_prefixes(*make_sessions(150, 40, random_state=0), max_len=8)


@pytest.fixture(scope="module", params=list(CASES))
def on_cuda(request, data):
    X, y, _ = data
    return _make(request.param, device="auto").fit(X, y)


def _scores(model, X):
    """Scores of every known item, (n_samples, n_items), on the CPU (float64)."""
    x = torch.as_tensor(compact_codes(model._encode(X))[0], device=model.device_)
    lengths = (x != 0).sum(dim=1)
    out = np.empty((len(X), model.n_items_))
    network = model.network_.eval()
    # as predict does: without TensorFloat-32, which cuDNN's GRU would otherwise use
    with torch.no_grad(), neural.float32_on_cuda(model.device_):
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


def test_warm_start_moves_a_cpu_fit_to_cuda(data):
    """A warm fit with ``device="cuda"`` continues a CPU fit on the GPU."""
    X, y, _ = data
    model = _make("NARM", device="cpu", warm_start=True).fit(X, y)
    model.set_params(device="cuda").fit(X, y)
    assert model.device_.type == "cuda" and model.n_iter_ == 4
    assert all(p.device.type == "cuda" for p in model.network_.parameters())
    assert np.isin(model.predict(X), model.items_).all()


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


@pytest.mark.parametrize("case", list(CASES))
def test_cpu_and_cuda_training_agree_closely(case, data):
    """Same seed, same data: the CPU and the GPU take the same first steps."""
    X, y, _ = data
    params = dict(max_iter=1, embedding_dropout=0.0, context_dropout=0.0,
                  matmul_precision="float32")
    cpu = _make(case, **params, device="cpu").fit(X, y)
    gpu = _make(case, **params, device="cuda").fit(X, y)
    # Initial weights and the batch order are drawn on the CPU from the same seed. Without
    # dropout a model is then deterministic up to float32 rounding; latent noise and sampled
    # negatives come from a CUDA generator on the GPU, so those curves agree only roughly.
    draws_on_device = CASES[case][2]
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=0.05 if draws_on_device
                               else 1e-3)
    if not draws_on_device:
        _assert_agree(_scores(gpu, X), _scores(cpu, X), gpu.predict(X), cpu.predict(X))


@pytest.mark.parametrize("case", list(CASES))
def test_same_seed_on_cuda_is_reproducible(case, data):
    X, y, _ = data
    first = _make(case, device="cuda").fit(X, y)
    second = _make(case, device="cuda").fit(X, y)
    # scatter-add in the embedding backward is not bitwise deterministic on CUDA
    np.testing.assert_allclose(first.loss_curve_, second.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(_scores(first, X), _scores(second, X), rtol=1e-3, atol=1e-3)
    # (the two fits' scores agree above) and one model's predict is deterministic on CUDA
    np.testing.assert_array_equal(first.predict(X), first.predict(X))


def test_fit_and_predict_run_without_tf32_and_restore_the_switches(data, monkeypatch):
    """float32 on CUDA means float32: no TensorFloat-32 in cuBLAS or cuDNN (the GRU) inside fit
    and predict, whatever the user set; their switches are back afterwards."""
    X, y, _ = data
    found = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    seen = []
    train = neural.train_network

    def recording(*args, **kwargs):
        seen.append((torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32))
        return train(*args, **kwargs)

    monkeypatch.setattr(neural, "train_network", recording)
    try:
        torch.set_float32_matmul_precision("high")
        torch.backends.cudnn.allow_tf32 = True
        model = _make("NARM", device="cuda").fit(X, y)
        assert seen == [("highest", False)]
        assert (torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32) == (
            "high", True)
        with_tf32_set = model.predict(X)
        torch.set_float32_matmul_precision("highest")
        torch.backends.cudnn.allow_tf32 = False
        np.testing.assert_array_equal(model.predict(X), with_tf32_set)
    finally:
        torch.set_float32_matmul_precision(found[0])
        torch.backends.cudnn.allow_tf32 = found[1]


def test_runs_on_cuda_are_tagged_non_deterministic():
    assert _make("VASER", device="cuda").__sklearn_tags__().non_deterministic


@pytest.mark.parametrize("case", ["VASER", "NARM", "VASER-sampled"])
def test_bfloat16_products_on_cuda(case, data):
    """bfloat16 products train on CUDA too; the weights and the predictions stay float32."""
    X, y, _ = data
    exact = _make(case, device="cuda", matmul_precision="float32").fit(X, y)
    rounded = _make(case, device="cuda", matmul_precision="bfloat16").fit(X, y)
    assert rounded.matmul_precision_ == "bfloat16"
    assert all(p.dtype == torch.float32 for p in rounded.network_.parameters())
    assert not np.array_equal(rounded.loss_curve_, exact.loss_curve_)  # it did round
    np.testing.assert_allclose(rounded.loss_curve_, exact.loss_curve_, rtol=0.02)
    assert rounded.predict(X).shape == exact.predict(X).shape


def test_adam_is_fused_on_cuda():
    network = torch.nn.Linear(3, 2).to("cuda")
    optimizer = _adam(network, 1e-3)
    assert optimizer.defaults["fused"] is True


def test_fit_on_cuda_leaves_the_global_rngs_alone(data):
    X, y, _ = data
    cpu_state, cuda_state = torch.get_rng_state(), torch.cuda.get_rng_state()
    _make("VASER", device="cuda").fit(X, y).predict(X[:5])
    assert torch.equal(cpu_state, torch.get_rng_state())
    assert torch.equal(cuda_state, torch.cuda.get_rng_state())


def test_early_stopping_on_cuda(data):
    X, y, _ = data
    model = _make("VASER", early_stopping=True, max_iter=3, device="cuda").fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    n_valid = int(round(0.1 * len(X)))
    assert model.score(X[-n_valid:], y[-n_valid:]) == pytest.approx(model.best_validation_score_)
