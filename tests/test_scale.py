"""Ranking large catalogues in bounded memory: item-chunked scoring with a running top-k.

The neural models score ``SCORE_ITEMS`` items at a time for ``_score_rows()`` prefixes at a
time (at most ``SCORE_CELLS`` scores exist at once) and merge the chunks' top-k; the result must
equal a top-k over the whole score matrix, ties included. The full-size figure (top 20 over
10^6 items for 10,000 prefixes) is a ``slow`` test here and a row of ``benchmarks/scale.py``.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from _settings import all_recommenders, make_fast
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import skvaser._ranking as ranking
import skvaser.models.neural as neural
from skvaser import sessions_to_prefixes
from skvaser._ranking import top_k, top_k_scores
from skvaser.datasets import make_sessions
from skvaser.models.neural import NeuralRecommender

NEURAL = [cls for cls in all_recommenders() if issubclass(cls, NeuralRecommender)]


@st.composite
def queries_and_items(draw):
    """Integer-valued float64 queries and weights: exact scores with many ties."""
    n_rows, n_items = draw(st.integers(1, 8)), draw(st.integers(1, 40))
    dim = draw(st.integers(1, 3))
    values = st.integers(-2, 2)
    query = draw(hnp.arrays(np.float64, (n_rows, dim), elements=values))
    weights = draw(hnp.arrays(np.float64, (n_items, dim), elements=values))
    return query, weights, draw(st.integers(1, n_items)), draw(st.integers(1, 45))


@settings(max_examples=200, deadline=None)
@given(queries_and_items())
def test_item_chunks_merge_into_the_exact_top_k(case):
    query, weights, k, item_chunk = case
    expected = top_k(query @ weights.T, k)  # ties towards the lower column
    found = top_k_scores(torch.as_tensor(query), torch.as_tensor(weights), k, item_chunk=item_chunk)
    np.testing.assert_array_equal(found.numpy(), expected)


@settings(max_examples=200, deadline=None)
@given(queries_and_items(), st.data())
def test_filtered_item_chunks_rank_as_the_filtered_whole(case, data):
    """``allowed`` and ``exclude``, applied chunk by chunk, rank as the whole score matrix with
    the filtered items at -inf would, by definition: by score, ties to the lower column, and
    -1 where a row has fewer than ``k`` candidates."""
    query, weights, k, item_chunk = case
    n_rows, n_items = len(query), len(weights)
    allowed = data.draw(st.none() | hnp.arrays(np.bool_, n_items))
    exclude = data.draw(st.none() | hnp.arrays(
        np.int64, (n_rows, data.draw(st.integers(0, 4))), elements=st.integers(-1, n_items - 1)
    ))
    scores = query @ weights.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    for row, excluded in enumerate([] if exclude is None else exclude):
        scores[row, excluded[excluded >= 0]] = -np.inf
    order = np.array([np.lexsort((np.arange(n_items), -row))[:k] for row in scores])
    expected = np.where(np.isfinite(np.take_along_axis(scores, order, axis=1)), order, -1)
    _, found = ranking.rank_items(
        torch.as_tensor(query), torch.as_tensor(weights), k, item_chunk=item_chunk,
        allowed=None if allowed is None else torch.as_tensor(allowed),
        exclude=None if exclude is None else torch.as_tensor(exclude),
    )
    np.testing.assert_array_equal(found.numpy(), expected)


def test_chunked_float32_scores_equal_the_unchunked_ones():
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(50, 16, generator=generator)
    weights = torch.randn(5000, 16, generator=generator)
    whole = top_k_scores(query, weights, 20, item_chunk=10**6)
    np.testing.assert_array_equal(whole.numpy(), top_k((query @ weights.T).numpy(), 20))
    for item_chunk in (20, 333, 4096):
        chunked = top_k_scores(query, weights, 20, item_chunk=item_chunk)
        np.testing.assert_array_equal(chunked, whole)


def test_ties_and_nan_are_ranked_deterministically():
    scores = torch.tensor([[1.0, 3.0, 3.0, 3.0, 0.0], [2.0] * 5, [0.0, 1.0, 4.0, 5.0, 5.0]])
    for item_chunk in (1, 2, 5):
        columns = top_k_scores(scores, torch.eye(5), 3, item_chunk=item_chunk)
        np.testing.assert_array_equal(columns, [[1, 2, 3], [0, 1, 2], [3, 4, 2]])
    # NaN ranks highest (as in torch.topk), ties among NaN to the lower column
    values, columns = ranking._tensor_top_k(torch.tensor([[np.nan, 1.0, np.nan, 5.0, 5.0]]), 3)
    np.testing.assert_array_equal(columns, [[0, 2, 3]])


def test_numpy_top_k_of_rows_wider_than_max_cells():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, (6, 50))
    expected = top_k(scores, 7)
    for max_cells in (1, 7, 13, 49):
        np.testing.assert_array_equal(top_k(scores, 7, max_cells=max_cells), expected)


@pytest.fixture(scope="module")
def data():
    X, y, _ = sessions_to_prefixes(*make_sessions(120, 60, random_state=0), max_len=6)
    return X, y


@pytest.mark.parametrize("cls", NEURAL, ids=lambda cls: cls.__name__)
def test_neural_ranking_in_small_blocks_gives_the_same_predictions(cls, data, monkeypatch):
    """With blocks of at most 64 scores (chunks of 20 items: k = 20 > SCORE_ITEMS, for 3 rows)
    predictions are unchanged, and no block of scores ever holds more than SCORE_CELLS cells."""
    X, y = data
    model = make_fast(cls).fit(X, y)
    expected = model.predict(X)
    largest = []
    real = ranking._tensor_top_k

    def recording(scores, k):
        largest.append(scores.numel())
        return real(scores, k)

    monkeypatch.setattr(ranking, "_tensor_top_k", recording)
    monkeypatch.setattr(neural, "SCORE_ITEMS", 8)
    monkeypatch.setattr(neural, "SCORE_CELLS", 64)
    assert model._score_rows(20) == 3 and model._score_rows(1) == 8
    np.testing.assert_array_equal(model.predict(X), expected)
    assert max(largest) <= 64 and len(largest) >= len(X) // 3 * (model.n_items_ // 20)
    largest.clear()
    model.set_params(n_recommendations=1)
    np.testing.assert_array_equal(model.predict(X), expected[:, :1])
    assert max(largest) <= 64 and len(largest) >= len(X) // 8 * (model.n_items_ // 8)


_BIG = textwrap.dedent(
    """
    import json, time
    import numpy as np, torch
    from skvaser import NARMRecommender
    from skvaser.models import neural

    n_items, n_prefixes, width = 10**6, 10_000, 10
    model = NARMRecommender(embedding_dim=8, hidden_size=8, max_iter=1, early_stopping=False,
                            device="cpu", random_state=0)
    rng = np.random.default_rng(0)
    model.fit(rng.integers(0, 50, (200, width)), rng.integers(0, 50, 200))
    # the same model over a catalogue of 10^6 items (training it would take minutes)
    model.items_, model.n_items_ = np.arange(n_items), n_items
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model.network_ = model._build_network(n_items).eval()
    X = np.full((n_prefixes, width), -1)
    lengths = rng.integers(1, width + 1, n_prefixes)
    mask = np.arange(width) >= width - lengths[:, None]
    X[mask] = rng.integers(0, n_items, mask.sum())

    def kib(field):
        return int(next(l for l in open("/proc/self/status") if l.startswith(field)).split()[1])

    try:
        open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM)
    except OSError:
        print(json.dumps({"skip": "cannot reset the peak resident memory here"}))
        raise SystemExit(0)
    before = kib("VmRSS")
    started = time.perf_counter()
    ranked = model.predict(X)
    seconds = time.perf_counter() - started
    assert ranked.shape == (n_prefixes, 20) and np.isin(ranked, model.items_).all()
    # the documented bound: 8 bytes per score of a block, one copy of the item weights, the
    # encoding table (8 bytes per id up to the largest), the prefixes and the result
    bound = (8 * neural.SCORE_CELLS + 4 * n_items * 8 + 8 * n_items + 4 * 8 * X.size
             + 16 * 20 * n_prefixes)
    print(json.dumps({"MiB": (kib("VmHWM") - before) / 1024, "seconds": seconds,
                      "bound_MiB": bound / 2**20}))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_top_20_of_a_million_items_for_10000_prefixes_in_bounded_memory():
    """The issue's figure: predict's peak memory stays within the documented bound (scores of
    SCORE_CELLS cells, 8 bytes each at worst, plus one copy of the item weights)."""
    # glibc's mmap threshold fixed: freed blocks go back to the OS at once, so the resident peak
    # is the memory in use, not heap fragmentation (see benchmarks/scale.py)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    done = subprocess.run(
        [sys.executable, "-c", _BIG], capture_output=True, text=True, check=True, timeout=600,
        env=env,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in figures:
        pytest.skip(figures["skip"])
    assert figures["MiB"] <= figures["bound_MiB"], figures
