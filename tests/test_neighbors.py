import pickle
import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared_data
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skvaser import neighbors
from skvaser.datasets import sessions_to_prefixes
from skvaser.metrics import SCORERS
from skvaser.neighbors import ItemKNNRecommender, SessionKNNRecommender, _row_labels

PAD = -1


# ---------------------------------------------------------------------- helpers
def _expand(sessions, max_len):
    session_ids = np.repeat(np.arange(len(sessions)), [len(s) for s in sessions])
    items = np.concatenate([np.asarray(s, dtype=np.int64) for s in sessions])
    return sessions_to_prefixes(session_ids, items, max_len=max_len, padding_value=PAD)


def _random_sessions(n_sessions, n_items, seed, max_length=8):
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1)
    popularity /= popularity.sum()
    lengths = rng.integers(2, max_length + 1, n_sessions)
    return [list(rng.choice(n_items, size=length, p=popularity)) for length in lengths]


def _reference(sessions, queries, *, n_neighbors, alpha, shrinkage, use_all_clicks, decay, k):
    """Brute force, dense and loop-based: ranked item ids and the full score matrix."""
    items = np.unique(np.concatenate([np.asarray(s) for s in sessions]))
    n_items = len(items)
    index = {item: i for i, item in enumerate(items)}
    B = np.zeros((len(sessions), n_items))
    for row, session in enumerate(sessions):
        for item in session:
            B[row, index[item]] = 1.0
    C = B.T @ B
    support = B.sum(axis=0)
    shrunk = support + shrinkage
    # the powers as arrays, like the model: scalar and vectorised pow may differ by an ulp
    source, candidate = shrunk**alpha, shrunk ** (1.0 - alpha)
    similarity = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            if i != j and C[i, j] > 0:
                similarity[i, j] = C[i, j] / (source[i] * candidate[j])
    pruned = np.zeros_like(similarity)
    for i in range(n_items):
        candidates = sorted(
            (j for j in range(n_items) if similarity[i, j] > 0),
            key=lambda j: (-similarity[i, j], -support[j], j),
        )
        for j in candidates[:n_neighbors]:
            pruned[i, j] = similarity[i, j]
    scores = np.zeros((len(queries), n_items))
    for row, prefix in enumerate(queries):
        clicks = [c for c in prefix if c != PAD]
        n = len(clicks)
        for back, item in enumerate(reversed(clicks)):
            if item not in index:  # an unknown click is skipped
                continue
            weight = {"linear": (n - back) / n, "harmonic": 1.0 / (back + 1), "none": 1.0}[decay]
            scores[row] += (weight if use_all_clicks else 1.0) * pruned[index[item]]
            if not use_all_clicks:  # the newest known click only
                break
    ranked = np.array(
        [
            sorted(range(n_items), key=lambda j: (-scores[row, j], -support[j], j))[:k]
            for row in range(len(queries))
        ],
        dtype=np.int64,
    ).reshape(len(queries), min(k, n_items))
    return items, support, pruned, scores, ranked


sessions_strategy = st.lists(
    st.lists(st.integers(0, 7), min_size=2, max_size=6), min_size=1, max_size=12
)
params_strategy = st.fixed_dictionaries(
    {
        "n_neighbors": st.integers(1, 6),
        "alpha": st.sampled_from([0.0, 0.25, 0.5, 1.0]),
        "shrinkage": st.sampled_from([0.0, 1.5, 20.0]),
        "use_all_clicks": st.booleans(),
        "decay": st.sampled_from(["linear", "harmonic", "none"]),
        "n_recommendations": st.integers(1, 10),
    }
)


# ---------------------------------------------------------------------- correctness
@settings(max_examples=60, deadline=None)
@given(sessions=sessions_strategy, params=params_strategy, with_groups=st.booleans())
def test_matches_brute_force(sessions, params, with_groups):
    X, y, groups = _expand(sessions, max_len=6)
    queries = np.vstack([X, [[PAD] * 5 + [99], [PAD] * 3 + [0, 99, 1], [PAD] * 4 + [3, 99]]])
    model = ItemKNNRecommender(**params, handle_unknown="ignore")  # the queries hold 99
    model.fit(X, y, groups if with_groups else None)
    k = params["n_recommendations"]
    items, support, pruned, scores, ranked = _reference(
        sessions,
        queries,
        **{key: value for key, value in params.items() if key != "n_recommendations"},
        k=k,
    )
    np.testing.assert_array_equal(model.items_, items)
    np.testing.assert_array_equal(model.item_popularity_, support)
    assert model.n_sessions_ == len(sessions)
    np.testing.assert_array_equal(model.similarity_.toarray(), pruned)  # bit for bit

    predicted = model.predict(queries)
    assert predicted.shape == (len(queries), k)
    known = predicted[:, : min(k, len(items))]
    np.testing.assert_array_equal(predicted[:, len(items) :], PAD)
    if not params["use_all_clicks"]:
        np.testing.assert_array_equal(known, items[ranked])
    else:  # sums in another order: equal up to rounding, ties may differ by an ulp
        position = np.searchsorted(items, known)
        got = np.take_along_axis(scores, position, axis=1)
        want = np.take_along_axis(scores, ranked, axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
        unscored = want == 0  # the popularity tail is exact
        np.testing.assert_array_equal(known[unscored], items[ranked][unscored])


def test_similarity_formula():
    # sessions {1, 2, 3}, {1, 2}, {1, 4}: s = (3, 2, 1, 1), c_12 = 2, c_13 = c_23 = c_14 = 1
    X, y, _ = _expand([[1, 2, 3], [1, 2], [1, 4]], max_len=3)
    alpha, shrinkage = 0.75, 2.0
    model = ItemKNNRecommender(alpha=alpha, shrinkage=shrinkage).fit(X, y)
    support = {1: 3, 2: 2, 3: 1, 4: 1}
    np.testing.assert_array_equal(model.item_popularity_, [3, 2, 1, 1])
    S = model.similarity_.toarray()
    for i, j, c in [(1, 2, 2), (1, 3, 1), (2, 3, 1), (1, 4, 1)]:
        for a, b in [(i, j), (j, i)]:  # asymmetric unless alpha = 0.5
            norm = (support[a] + shrinkage) ** alpha * (support[b] + shrinkage) ** (1 - alpha)
            expected = c / norm
            assert S[a - 1, b - 1] == pytest.approx(expected, rel=1e-15)
    assert S[0, 1] != S[1, 0]
    np.testing.assert_array_equal(np.diag(S), 0.0)  # never its own neighbour
    assert S[1, 3] == S[2, 3] == 0.0  # 2-4 and 3-4 never co-occur


def test_cosine_is_symmetric():
    X, y, _ = _expand(_random_sessions(40, 12, seed=0), max_len=8)
    S = ItemKNNRecommender(n_neighbors=100).fit(X, y).similarity_.toarray()
    np.testing.assert_allclose(S, S.T, rtol=1e-14)


def test_top_n_pruning_keeps_the_best_neighbours():
    X, y, _ = _expand(_random_sessions(60, 15, seed=1), max_len=8)
    full = ItemKNNRecommender(n_neighbors=100).fit(X, y).similarity_.toarray()
    for n in (1, 3):
        pruned = ItemKNNRecommender(n_neighbors=n).fit(X, y).similarity_
        assert (np.diff(pruned.indptr) <= n).all()
        assert (np.diff(pruned.indptr) == np.minimum(n, (full > 0).sum(axis=1))).all()
        dense = pruned.toarray()
        kept = dense > 0
        np.testing.assert_array_equal(dense[kept], full[kept])
        # nothing dropped beats anything kept in its row
        dropped = np.where(kept | (full == 0), -np.inf, full).max(axis=1)
        weakest = np.where(kept, dense, np.inf).min(axis=1)
        assert (dropped <= weakest).all()


def test_ties_go_to_the_more_popular_item():
    # alpha = 1: sim(i, j) = c_ij / (s_i + shrinkage) does not depend on j, so 5's neighbours
    # 1, 2, 3 tie (one shared session each) and rank by popularity: 3 (4 sessions), 2 (2), 1 (1)
    sessions = [[5, 1], [5, 2], [5, 3], [2, 3], [3, 4], [3, 4], [6, 7]]
    X, y, _ = _expand(sessions, max_len=2)
    model = ItemKNNRecommender(alpha=1.0, n_recommendations=7, handle_unknown="ignore")
    model.fit(X, y)
    assert model.predict([[PAD, 5]])[0, :3].tolist() == [3, 2, 1]
    # without any score: popularity (3: 4 sessions, 5: 3, 2 and 4: 2, 1, 6 and 7: 1), then the
    # lower id among equals
    assert model.predict([[PAD, 99]])[0].tolist() == [3, 5, 2, 4, 1, 6, 7]


def test_unscored_items_follow_by_popularity():
    sessions = [[1, 2]] + [[7, 8]] * 3 + [[8, 9]] * 2
    X, y, _ = _expand(sessions, max_len=3)
    model = ItemKNNRecommender(n_recommendations=5).fit(X, y)
    # after 1: its one neighbour 2, then the most popular items (8, then 7 and 9)
    assert model.predict([[PAD, PAD, 1]])[0].tolist() == [2, 8, 7, 9, 1]


# ---------------------------------------------------------------------- unknown and odd input
def test_an_unknown_last_click_is_skipped():
    X, y, _ = _expand(_random_sessions(50, 10, seed=2), max_len=5)
    model = ItemKNNRecommender(n_recommendations=10).fit(X, y)
    popular = model.items_[np.argsort(-model.item_popularity_, kind="stable")]
    with pytest.warns(UserWarning, match="that click is skipped"):
        skipped = model.predict([[PAD, 0, 1, 2, 1000]])
    np.testing.assert_array_equal(skipped, model.predict([[PAD, PAD, 0, 1, 2]]))
    assert not np.array_equal(skipped[0], popular)
    # without a known click, the most popular items
    with pytest.warns(UserWarning, match="not seen in fit"):
        newest_unknown = model.predict([[PAD] * 4 + [1000]])
    np.testing.assert_array_equal(newest_unknown[0], popular)


@pytest.mark.parametrize("decay", ["linear", "harmonic", "none"])
def test_unknown_clicks_in_the_prefix_add_nothing(decay):
    X, y, _ = _expand(_random_sessions(50, 10, seed=3), max_len=5)
    model = ItemKNNRecommender(use_all_clicks=True, decay=decay, handle_unknown="ignore")
    model.fit(X, y)
    a = model.predict([[PAD, 3, 500, 1, 2]])
    b = model.predict([[PAD, 3, 777, 1, 2]])
    np.testing.assert_array_equal(a, b)


def test_unknown_target_is_a_miss_not_an_error():
    X, y, _ = _expand(_random_sessions(50, 10, seed=4), max_len=5)
    model = ItemKNNRecommender().fit(X, y)
    assert model.score(X[:3], [1000, 1001, 1002]) == 0.0
    for scorer in SCORERS.values():
        assert scorer(model, X[:3], [1000, 1001, 1002]) == 0.0


def test_empty_rows_warn_and_get_the_popular_items():
    X, y, _ = _expand(_random_sessions(30, 8, seed=5), max_len=4)
    X_empty = np.vstack([X, np.full((2, 4), PAD)])
    y_empty = np.r_[y, [3, 4]]
    with pytest.warns(UserWarning, match="2 of .* contain no click"):
        model = ItemKNNRecommender(n_recommendations=8).fit(X_empty, y_empty)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = ItemKNNRecommender(n_recommendations=8).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    predicted = model.predict(np.full((1, 4), PAD))
    popular = model.items_[np.argsort(-model.item_popularity_, kind="stable")]
    np.testing.assert_array_equal(predicted[0], popular)


def test_single_item_catalogue():
    model = ItemKNNRecommender(n_recommendations=3, handle_unknown="ignore")
    model.fit([[PAD, 5], [5, 5]], [5, 5])
    np.testing.assert_array_equal(model.items_, [5])
    assert model.similarity_.nnz == 0
    np.testing.assert_array_equal(model.predict([[PAD, 5], [PAD, 6]]), [[5, PAD, PAD]] * 2)


def test_more_recommendations_than_items_are_padded():
    X, y, _ = _expand([[1, 2, 3], [2, 3]], max_len=3)
    model = ItemKNNRecommender(n_recommendations=6, padding_value=-9).fit(
        np.where(X == PAD, -9, X), y
    )
    predicted = model.predict([[-9, -9, 2]])
    assert predicted.tolist() == [[3, 1, 2, -9, -9, -9]]


def test_fit_with_groups_equals_rebuilt_sessions():
    X, y, groups = _expand(_random_sessions(80, 20, seed=6), max_len=8)
    rebuilt = ItemKNNRecommender().fit(X, y)
    true = ItemKNNRecommender().fit(X, y, groups)
    assert rebuilt.n_sessions_ == true.n_sessions_ == 80
    assert (rebuilt.similarity_ != true.similarity_).nnz == 0
    # order of the rows does not matter
    order = np.random.default_rng(0).permutation(len(X))
    shuffled = ItemKNNRecommender().fit(X[order], y[order])
    assert (shuffled.similarity_ != true.similarity_).nnz == 0


def test_long_sessions_keep_their_newest_clicks_without_groups():
    X, y, groups = _expand([[1, 2, 3, 4, 5]], max_len=2)  # rows [1 2]->3, [2 3]->4, [3 4]->5
    assert ItemKNNRecommender().fit(X, y, groups).item_popularity_.tolist() == [1] * 5
    rebuilt = ItemKNNRecommender().fit(X, y)
    assert rebuilt.n_sessions_ == 1
    assert rebuilt.item_popularity_.tolist() == [0, 0, 1, 1, 1]


def test_a_session_that_loops_over_its_window_is_not_rebuilt():
    X, y, groups = _expand([[3, 5, 3], [1, 2]], max_len=1)  # [3]->5, [5]->3: a loop
    assert ItemKNNRecommender().fit(X, y, groups).n_sessions_ == 2
    assert ItemKNNRecommender().fit(X, y).n_sessions_ == 1  # the documented limit
    X, y, groups = _expand([[3, 5, 3]], max_len=1)
    for model in (ItemKNNRecommender(), SessionKNNRecommender()):
        with pytest.raises(ValueError, match="No session could be rebuilt.*Pass groups"):
            model.fit(X, y)


def test_groups_of_the_wrong_length():
    X, y, groups = _expand([[1, 2, 3]], max_len=2)
    with pytest.raises(ValueError, match="groups must be 1-D with one session per row"):
        ItemKNNRecommender().fit(X, y, groups[:1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"alpha": 1.5}, "alpha"),
        ({"shrinkage": -1.0}, "shrinkage"),
        ({"decay": "exponential"}, "decay"),
        ({"use_all_clicks": "yes"}, "use_all_clicks"),
        ({"n_recommendations": 0}, "n_recommendations"),
        ({"padding_value": 0}, "padding_value"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ItemKNNRecommender(**params).fit([[PAD, 1]], [2])


# ---------------------------------------------------------------------- estimator contract
def test_not_fitted():
    model = ItemKNNRecommender()
    with pytest.raises(NotFittedError):
        model.predict([[PAD, 1]])
    with pytest.raises(NotFittedError):
        model.similarity_
    assert not hasattr(model, "similarity_")


def test_clone_is_unfitted_with_the_same_parameters():
    X, y, _ = _expand(_random_sessions(20, 6, seed=7), max_len=4)
    model = ItemKNNRecommender(n_neighbors=7, alpha=0.3, use_all_clicks=True).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "items_")
    with pytest.raises(NotFittedError):
        copy.predict(X)


@pytest.mark.parametrize("use_all_clicks", [False, True])
def test_pickle_and_joblib_round_trip(tmp_path, use_all_clicks):
    X, y, _ = _expand(_random_sessions(60, 15, seed=8), max_len=6)
    model = ItemKNNRecommender(use_all_clicks=use_all_clicks).fit(X, y)
    expected = model.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), expected)
    joblib.dump(model, tmp_path / "knn.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "knn.joblib").predict(X), expected)


@pytest.mark.parametrize("use_all_clicks", [False, True])
def test_batch_composition_does_not_change_predictions(use_all_clicks, monkeypatch):
    X, y, _ = _expand(_random_sessions(80, 25, seed=9), max_len=6)
    model = ItemKNNRecommender(n_neighbors=5, use_all_clicks=use_all_clicks).fit(X, y)
    together = model.predict(X)
    alone = np.vstack([model.predict(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(together, alone)
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(model.predict(X[order]), together[order])
    # tiny memory budgets: many score blocks and many dense ranking blocks
    monkeypatch.setattr(neighbors, "_MAX_ENTRIES", 7)
    monkeypatch.setattr(neighbors, "_MAX_CELLS", 5)
    np.testing.assert_array_equal(model.predict(X), together)
    refit = ItemKNNRecommender(n_neighbors=5, use_all_clicks=use_all_clicks).fit(X, y)
    assert (refit.similarity_ != model.similarity_).nnz == 0


def test_use_all_clicks_changes_the_ranking():
    sessions = [[1, 2]] * 3 + [[3, 4]] * 5 + [[1, 3]]
    X, y, _ = _expand(sessions, max_len=3)
    last = ItemKNNRecommender(n_recommendations=2).fit(X, y)
    every = ItemKNNRecommender(n_recommendations=2, use_all_clicks=True, decay="none").fit(X, y)
    prefix = [[PAD, 4, 1]]
    assert last.predict(prefix)[0, 0] == 2  # 1's best neighbour
    assert every.predict(prefix)[0, 0] == 3  # 3 is a neighbour of both 4 and 1


def _labels(rows):
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return _row_labels(
        lambda multipliers: rows.view(np.uint64) @ multipliers,
        lambda index: rows[index],
        len(rows),
        rows.shape[1],
    )


def test_row_labels_are_exact_even_on_a_hash_collision():
    multipliers = np.random.default_rng(20011).integers(1, 2**63, 2, dtype=np.uint64)
    m0, m1 = (int(m | np.uint64(1)) for m in multipliers)
    rows = np.array([[0, 0], [m1, -m0], [0, 0], [1, 2]], dtype=np.int64)  # same hash 0
    label = _labels(rows)
    assert label[0] == label[2]
    assert len({label[0], label[1], label[3]}) == 3


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3), min_size=1, max_size=30))
def test_row_labels_partition_equal_rows(rows):
    rows = np.array(rows, dtype=np.int64)
    label = _labels(rows)
    same_label = label[:, None] == label[None, :]
    same_row = (rows[:, None, :] == rows[None, :, :]).all(axis=2)
    np.testing.assert_array_equal(same_label, same_row)


# ---------------------------------------------------------------------- model selection
def test_grid_search_in_a_pipeline_with_group_folds():
    X, y, groups = _expand(_random_sessions(150, 30, seed=10), max_len=6)
    pipeline = Pipeline(
        [("identity", FunctionTransformer()), ("knn", ItemKNNRecommender(handle_unknown="ignore"))]
    )
    search = GridSearchCV(
        pipeline,
        {"knn__n_neighbors": [2, 50], "knn__alpha": [0.25, 0.75]},
        cv=GroupKFold(n_splits=3),
        scoring=SCORERS,
        refit="mrr@20",
        n_jobs=2,
    )
    search.fit(X, y, groups=groups)
    results = search.cv_results_
    assert len(results["params"]) == 4
    for name in SCORERS:
        scores = results[f"mean_test_{name}"]
        assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
    assert (results["mean_test_mrr@20"] <= results["mean_test_recall@20"]).all()
    assert search.best_estimator_.predict(X[:4]).shape == (4, 20)


@pytest.mark.parametrize("recommender", [ItemKNNRecommender, SessionKNNRecommender])
def test_metadata_routing_passes_groups_to_fit_only_on_request(recommender):
    # sessions longer than max_len + 1: rebuilt sessions keep their newest 3 clicks only, so
    # each fold's model shows whether fit received the groups (the sessions share no item:
    # every test click is unknown, hence handle_unknown="ignore")
    sessions = [list(range(start, start + 6)) for start in range(0, 60, 6)]
    X, y, groups = _expand(sessions, max_len=2)
    with config_context(enable_metadata_routing=True):
        for model, support in [
            (recommender(handle_unknown="ignore"), 3),  # the first 3 of 6 clicks are lost
            (recommender(handle_unknown="ignore").set_fit_request(groups=True), 0),
        ]:
            pipeline = Pipeline([("knn", model)])
            result = cross_validate(
                pipeline,
                X,
                y,
                params={"groups": groups},
                cv=GroupKFold(n_splits=3),
                scoring=SCORERS,
                return_estimator=True,
            )
            assert ((result["test_recall@20"] >= 0) & (result["test_recall@20"] <= 1)).all()
            for fitted in result["estimator"]:
                popularity = fitted[-1].item_popularity_
                assert (popularity == 0).sum() == support * (len(popularity) // 6)


@requires_shared_data
@pytest.mark.parametrize(
    "name, published", [("yoochoose1_64", (0.5160, 0.2181)), ("diginetica", (0.3575, 0.1157))]
)
def test_reaches_the_published_figures(name, published):
    from skvaser.evaluation import evaluate_recommender, load_train_test

    train, test, _ = load_train_test(SHARED_DATA / f"{name}.csv.gz")
    result = evaluate_recommender(ItemKNNRecommender(handle_unknown="ignore"), train, test,
                                  max_len=30)
    assert result["recall"] >= published[0]
    assert result["mrr"] >= published[1]


@pytest.mark.parametrize("cls", [ItemKNNRecommender, SessionKNNRecommender])
def test_verbose_reports_fit_and_long_rankings(cls, capsys, monkeypatch):
    """verbose=0 prints nothing; verbose=1 names the model, times fit's steps and, once a
    ranking takes several blocks, reports its progress (plain lines off a terminal)."""
    X, y, _ = _expand(_random_sessions(200, 30, seed=7), max_len=4)
    cls().fit(X, y).predict(X)
    assert capsys.readouterr().out == ""
    model = cls(verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(re.fullmatch(rf"{cls.__name__}: .* sessions of \d+ items in [\d.]+ s|"
                                      rf"{cls.__name__}: similarities, [\d,]+ kept in [\d.]+ s",
                                      line) for line in lines)
    monkeypatch.setattr(neighbors, "_MAX_ENTRIES", 50)
    np.testing.assert_array_equal(model.predict(X), cls().fit(X, y).predict(X))
    progress = capsys.readouterr().out.splitlines()
    assert len(progress) >= 5
    assert all(re.fullmatch(rf"{cls.__name__}: ranked [\d,]+ of {len(X):,} prefixes in "
                            r"[\d.]+ s, about \d+ s left", line) for line in progress)


@pytest.mark.parametrize("cls", [ItemKNNRecommender, SessionKNNRecommender])
@pytest.mark.parametrize("missing", [np.nan, pd.NA])
def test_groups_follow_the_rows_whatever_marks_the_padding(cls, missing):
    """With ``padding_value=None``, NaN and pd.NA pad too: the row of no click is left out of
    ``groups`` as it is out of ``X``, so every other row keeps its session."""
    X = np.array([[None, "a"], [None, None], ["a", "b"], [None, "c"]], dtype=object)
    y, groups = np.array(["b", "z", "c", "d"], dtype=object), [0, 9, 0, 1]
    with pytest.warns(UserWarning, match="1 of 4 prefixes in X contain no click"):
        expected = cls(padding_value=None, n_recommendations=3).fit(X, y, groups=groups)
        model = cls(padding_value=None, n_recommendations=3).fit(
            np.where(X == None, missing, X), y, groups=groups  # noqa: E711 (cell by cell)
        )
    np.testing.assert_array_equal(model.predict(X), expected.predict(X))
    if cls is SessionKNNRecommender:
        assert (model.session_items_ != expected.session_items_).nnz == 0
        assert model.n_sessions_ == 2
