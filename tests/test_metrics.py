"""Recall@k, MRR@k, their scorers, and the exact top-k they are computed on."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator
from sklearn.metrics import top_k_accuracy_score

import skvaser.metrics
from skvaser._ranking import top_k
from skvaser.metrics import (
    SCORERS,
    make_mrr_scorer,
    make_recall_scorer,
    mrr_at_20,
    mrr_at_k,
    recall_at_20,
    recall_at_k,
    reciprocal_ranks,
)

fast = settings(max_examples=150, deadline=None)


@st.composite
def rankings(draw, max_items=12):
    """(y_true, y_pred, k): small item ids so that hits, misses and repeated ids all occur."""
    n_samples = draw(st.integers(1, 30))
    n_columns = draw(st.integers(1, 10))
    ids = st.integers(0, max_items)
    y_pred = draw(hnp.arrays(np.int64, (n_samples, n_columns), elements=ids))
    y_true = draw(hnp.arrays(np.int64, n_samples, elements=ids))
    k = draw(st.integers(1, n_columns))
    return y_true, y_pred, k


def reference_reciprocal_ranks(y_true, y_pred, k):
    out = []
    for target, row in zip(y_true.tolist(), y_pred.tolist()):
        ranks = [i + 1 for i, item in enumerate(row[:k]) if item == target]
        out.append(1 / ranks[0] if ranks else 0.0)
    return np.array(out)


# ---------------------------------------------------------------------- properties
@fast
@given(rankings())
def test_bounds(case):
    y_true, y_pred, k = case
    recall, mrr = recall_at_k(y_true, y_pred, k=k), mrr_at_k(y_true, y_pred, k=k)
    assert isinstance(recall, float) and isinstance(mrr, float)
    assert 0.0 <= mrr <= recall <= 1.0


@fast
@given(rankings())
def test_monotone_in_k(case):
    y_true, y_pred, _ = case
    ks = range(1, y_pred.shape[1] + 1)
    recalls = [recall_at_k(y_true, y_pred, k=k) for k in ks]
    mrrs = [mrr_at_k(y_true, y_pred, k=k) for k in ks]
    assert recalls == sorted(recalls)
    assert mrrs == sorted(mrrs)
    assert recalls[0] == pytest.approx(mrrs[0])  # at k=1 a hit has rank 1


@fast
@given(rankings())
def test_matches_brute_force(case):
    y_true, y_pred, k = case
    expected = reference_reciprocal_ranks(y_true, y_pred, k)
    np.testing.assert_allclose(reciprocal_ranks(y_true, y_pred, k=k), expected)
    assert mrr_at_k(y_true, y_pred, k=k) == pytest.approx(expected.mean())
    assert recall_at_k(y_true, y_pred, k=k) == pytest.approx((expected > 0).mean())
    # lists and float ids holding integers give the same answer
    assert recall_at_k(y_true.tolist(), y_pred.astype(float), k=k) == recall_at_k(
        y_true, y_pred, k=k
    )


@st.composite
def score_matrices(draw):
    """Distinct scores per row (a permutation), so that the ranking is unambiguous."""
    n_classes = draw(st.integers(3, 12))
    n_samples = draw(st.integers(1, 25))
    rows = draw(st.lists(st.permutations(range(n_classes)), min_size=n_samples, max_size=n_samples))
    scores = np.asarray(rows, dtype=float) + draw(st.floats(-5, 5))
    y_true = draw(hnp.arrays(np.int64, n_samples, elements=st.integers(0, n_classes - 1)))
    k = draw(st.integers(1, n_classes - 1))  # k >= n_classes is a warning in scikit-learn
    return y_true, scores, k


@fast
@given(score_matrices())
def test_recall_equals_top_k_accuracy_score(case):
    y_true, scores, k = case
    ranked = np.argsort(-scores, axis=1)
    expected = top_k_accuracy_score(y_true, scores, k=k, labels=np.arange(scores.shape[1]))
    assert recall_at_k(y_true, ranked, k=k) == pytest.approx(expected)
    assert recall_at_k(y_true, top_k(scores, k), k=k) == pytest.approx(expected)


def test_reciprocal_ranks_count_the_first_occurrence():
    y_pred = [[5, 3, 5], [3, 5, 5], [1, 2, 3], [7, 7, 7]]
    np.testing.assert_allclose(reciprocal_ranks([5, 5, 4, 7], y_pred, k=3), [1.0, 0.5, 0.0, 1.0])
    np.testing.assert_allclose(reciprocal_ranks([3, 5], [[1, 2, 3], [1, 5, 5]], k=2), [0, 0.5])


def test_only_the_first_k_columns_count():
    assert recall_at_k([3], [[1, 2, 3]], k=2) == 0.0
    assert recall_at_k([3], [[1, 2, 3]], k=3) == 1.0
    assert mrr_at_k([3], [[1, 2, 3]], k=3) == pytest.approx(1 / 3)


def test_doctests():
    assert doctest.testmod(skvaser.metrics).failed == 0


# ---------------------------------------------------------------------- scorers
class Echo(BaseEstimator):
    """Predicts its input: X is already a ranking."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.asarray(X)


@fast
@given(rankings())
def test_scorers(case):
    y_true, y_pred, k = case
    estimator = Echo().fit(y_pred)
    assert make_recall_scorer(k)(estimator, y_pred, y_true) == recall_at_k(y_true, y_pred, k=k)
    assert make_mrr_scorer(k)(estimator, y_pred, y_true) == mrr_at_k(y_true, y_pred, k=k)


def test_scorers_at_20():
    rng = np.random.default_rng(0)
    y_pred = rng.permuted(np.tile(np.arange(30), (50, 1)), axis=1)
    y_true = rng.integers(0, 35, 50)
    estimator = Echo().fit(y_pred)
    assert set(SCORERS) == {"recall@20", "mrr@20"}
    assert SCORERS["recall@20"] is recall_at_20 and SCORERS["mrr@20"] is mrr_at_20
    assert recall_at_20(estimator, y_pred, y_true) == recall_at_k(y_true, y_pred, k=20) > 0
    assert mrr_at_20(estimator, y_pred, y_true) == mrr_at_k(y_true, y_pred, k=20) > 0
    with pytest.raises(ValueError, match=r"y_pred ranks 10 items per sample but k=20"):
        recall_at_20(estimator, y_pred[:, :10], y_true)
    with pytest.raises(ValueError, match=r"y_pred ranks 10 items per sample but k=20"):
        mrr_at_20(estimator, y_pred[:, :10], y_true)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("k", [0, -1, 2.0, 1.5, True, "3", None])
@pytest.mark.parametrize("metric", [recall_at_k, mrr_at_k, reciprocal_ranks])
def test_bad_k(metric, k):
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        metric([1], [[1, 2, 3]], k=k)


@pytest.mark.parametrize("factory", [make_recall_scorer, make_mrr_scorer])
def test_bad_k_in_scorer_factory(factory):
    with pytest.raises(ValueError, match="k must be"):
        factory(0)


@pytest.mark.parametrize(
    "y_true, y_pred, k, match",
    [
        ([1, 2], [[1, 2], [2, 1]], 3, "ranks 2 items per sample but k=3"),
        ([1, 2, 3], [[1, 2], [2, 1]], 1, "different numbers of samples"),
        ([[1], [2]], [[1, 2], [2, 1]], 1, "y_true must be 1-D"),
        ([1, 2], [1, 2], 1, "y_pred must be 2-D"),
        ([1, 2], np.zeros((2, 3, 1)), 1, "y_pred must be 2-D"),
        ([], np.zeros((0, 3)), 1, "empty"),
        ([1.0, np.nan], [[1, 2], [2, 1]], 1, "y_true contains NaN"),
        ([1, 2], [[1.0, np.nan], [2.0, 1.0]], 1, "y_pred contains NaN"),
        # what pads a ranking never counts as its hit
        ([1, -1], [[1, 2], [2, -1]], 2, r"y_true holds -1, which is no item id \(it pads"),
        ([1.0, -1.0], [[1, 2], [2, -1]], 2, "y_true holds -1.0, which is no item id"),
        (np.array(["a", None], dtype=object), np.array([["a", None], ["b", None]], dtype=object),
         2, "y_true holds None, which is no item id"),
    ],
)
@pytest.mark.parametrize("metric", [recall_at_k, mrr_at_k])
def test_bad_input(metric, y_true, y_pred, k, match):
    with pytest.raises(ValueError, match=match):
        metric(y_true, y_pred, k=k)


@pytest.mark.parametrize(
    "y_true, y_pred, kinds",
    [
        (["1", "2"], [[1, 2], [2, 1]], "string item ids but y_pred holds numeric"),
        ([1, 2], np.array([["1", None], ["2", "1"]], dtype=object), "numeric item ids but "
         "y_pred holds string"),
        ([b"a", b"b"], [["a", "b"], ["b", "a"]], "bytes item ids but y_pred holds string"),
    ],
)
@pytest.mark.parametrize("metric", [recall_at_k, mrr_at_k])
def test_ids_of_two_types_are_refused(metric, y_true, y_pred, kinds):
    with pytest.raises(TypeError, match=f"y_true holds {kinds}.*astype"):
        metric(y_true, y_pred, k=2)


def test_ids_of_one_type_padded_otherwise_are_scored():
    padded = np.array([["a", None], ["b", "a"]], dtype=object)
    assert recall_at_k(np.array(["a", "a"], dtype=object), padded, k=2) == 1.0
    assert recall_at_k([1.0, 2.0], [[1, 2], [-1, -1]], k=2) == 0.5


# ---------------------------------------------------------------------- top_k
def reference_top_k(scores, k):
    """Highest first, ties to the lower column: sort by (-score, column)."""
    return np.array(
        [np.lexsort((np.arange(len(row)), -row.astype(float)))[:k] for row in scores],
        dtype=np.int64,
    ).reshape(len(scores), k)


@st.composite
def score_cases(draw):
    n_rows = draw(st.integers(0, 12))
    n_columns = draw(st.integers(1, 12))
    dtype = draw(
        st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.uint8, np.uint64, np.bool_])
    )
    values = st.integers(0, 1 if dtype is np.bool_ else 4)  # few distinct values: many ties
    scores = draw(hnp.arrays(dtype, (n_rows, n_columns), elements=values))
    k = draw(st.integers(1, n_columns))
    max_cells = draw(st.integers(1, 60))
    return scores, k, max_cells


@fast
@given(score_cases())
def test_top_k_matches_lexsort(case):
    scores, k, max_cells = case
    expected = reference_top_k(scores, k)
    result = top_k(scores, k)
    assert result.dtype == np.int64 and result.shape == (len(scores), k)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(top_k(scores, k, max_cells=max_cells), expected)


@fast
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=10),
        elements=st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([np.inf, -np.inf]),
    ),
    st.data(),
)
def test_top_k_on_arbitrary_floats(scores, data):
    k = data.draw(st.integers(1, scores.shape[1]))
    np.testing.assert_array_equal(top_k(scores, k, max_cells=7), reference_top_k(scores, k))


def test_top_k_rows_do_not_depend_on_the_batch():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 3, (40, 25)).astype(float)
    whole = top_k(scores, 6)
    for row in range(len(scores)):
        np.testing.assert_array_equal(top_k(scores[row : row + 1], 6)[0], whole[row])
