"""SessionKNNRecommender (V-SKNN): brute-force reference, decays, recency, contract."""

import math
import pickle
import warnings
from fractions import Fraction

import joblib
import numpy as np
import pytest
from conftest import SHARED_DATA, requires_shared_data
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skvaser import SessionKNNRecommender, neighbors
from skvaser.datasets import sessions_to_prefixes
from skvaser.metrics import SCORERS

PAD = -1
#: The paper's V-SKNN, without the extensions the defaults switch on.
PLAIN = dict(decay="linear", match_decay="none", idf_weighting=0.0)


# ---------------------------------------------------------------------- helpers
def _expand(sessions, max_len):
    """Prefix rows of ``sessions`` in the given order: the last session is the most recent."""
    session_ids = np.repeat(np.arange(len(sessions)), [len(s) for s in sessions])
    items = np.concatenate([np.asarray(s, dtype=np.int64) for s in sessions])
    return sessions_to_prefixes(session_ids, items, max_len=max_len, padding_value=PAD)


def _random_sessions(n_sessions, n_items, seed, max_length=8):
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1)
    popularity /= popularity.sum()
    lengths = rng.integers(2, max_length + 1, n_sessions)
    return [list(rng.choice(n_items, size=length, p=popularity)) for length in lengths]


def _weight(decay, n, back):
    return {
        "linear": Fraction(n - back, n),
        "harmonic": Fraction(1, back + 1),
        "none": Fraction(1),
    }[decay]


def _reference(
    sessions,
    queries,
    *,
    n_neighbors,
    sample_size,
    decay,
    similarity,
    match_decay,
    idf_weighting,
    k,
):
    """Loops over sessions and items, exact fractions where the maths allows.

    Returns the item ids, the (n_queries, n_items) float scores, the ranked item indices and
    whether some query's neighbours are decided by an exact tie between sessions that the
    model's floating-point sums may order otherwise (``fragile``).
    """
    items = np.unique(np.concatenate([np.asarray(s) for s in sessions]))
    index = {item: i for i, item in enumerate(items)}
    contents = [set(session) for session in sessions]  # session s: larger s is more recent
    support = np.array([sum(item in c for c in contents) for item in items])
    idf = np.log(len(sessions) / support)
    scores = np.zeros((len(queries), len(items)))
    fragile = False
    for row, prefix in enumerate(queries):
        clicks = [c for c in prefix if c != PAD]
        while clicks and clicks[0] not in index:  # leading unknown clicks read as padding
            clicks.pop(0)
        n = len(clicks)
        weight, back = {}, {}
        for position, item in enumerate(clicks):
            if item in index:  # the newest click of an item overwrites older ones
                weight[item] = _weight(decay, n, n - 1 - position)
                back[item] = n - 1 - position
        candidates = [s for s in range(len(sessions)) if contents[s] & weight.keys()]
        candidates = sorted(candidates, reverse=True)[:sample_size]  # the newest
        squared_norm = sum(w * w for w in weight.values())

        def key(s):  # exact similarity (squared for cosine: same order), newer first on ties
            dot = sum(weight[i] for i in contents[s] & weight.keys())
            exact = dot * dot / (squared_norm * len(contents[s])) if similarity == "cosine" else dot
            return (-exact, -s)

        ranked = sorted(candidates, key=key)
        chosen = ranked[:n_neighbors]
        if len(ranked) > n_neighbors and decay != "none":  # "none": the sums are exact
            boundary = key(chosen[-1])[0]
            if key(ranked[n_neighbors])[0] == boundary:
                fragile |= (
                    len(
                        {
                            (
                                frozenset(contents[s] & weight.keys()),
                                len(contents[s]) if similarity == "cosine" else 0,
                            )
                            for s in ranked
                            if key(s)[0] == boundary
                        }
                    )
                    > 1
                )
        for s in chosen:
            dot = float(sum(weight[i] for i in contents[s] & weight.keys()))
            sim = dot
            if similarity == "cosine":
                sim = dot / (math.sqrt(float(squared_norm)) * math.sqrt(len(contents[s])))
            if match_decay == "harmonic":
                sim /= 1 + min(back[i] for i in contents[s] & weight.keys())
            for item in contents[s]:
                scores[row, index[item]] += sim
    scores *= 1.0 + idf_weighting * idf
    ranked = np.array(
        [
            sorted(range(len(items)), key=lambda j: (-scores[row, j], -support[j], j))[:k]
            for row in range(len(queries))
        ],
        dtype=np.int64,
    ).reshape(len(queries), min(k, len(items)))
    return items, support, scores, ranked, fragile


sessions_strategy = st.lists(
    st.lists(st.integers(0, 7), min_size=2, max_size=6), min_size=1, max_size=12
)
params_strategy = st.fixed_dictionaries(
    {
        "n_neighbors": st.integers(1, 6),
        "sample_size": st.sampled_from([None, 1, 2, 4, 8]),
        "decay": st.sampled_from(["linear", "harmonic", "none"]),
        "similarity": st.sampled_from(["dot", "cosine"]),
        "match_decay": st.sampled_from(["none", "harmonic"]),
        "idf_weighting": st.sampled_from([0.0, 0.5]),
        "n_recommendations": st.integers(1, 10),
    }
)


# ---------------------------------------------------------------------- correctness
@settings(max_examples=60, deadline=None)
@given(sessions=sessions_strategy, params=params_strategy)
def test_matches_brute_force(sessions, params):
    X, y, groups = _expand(sessions, max_len=6)
    queries = np.vstack([X, [[PAD] * 5 + [99], [PAD] * 3 + [0, 99, 1], [PAD] * 2 + [3, 3, 99, 2]]])
    k = params["n_recommendations"]
    settings_ = {key: value for key, value in params.items() if key != "n_recommendations"}
    items, support, scores, ranked, fragile = _reference(sessions, queries, **settings_, k=k)
    assume(not fragile)
    model = SessionKNNRecommender(**params, handle_unknown="ignore")  # the queries hold 99
    model.fit(X, y, groups)
    np.testing.assert_array_equal(model.items_, items)
    np.testing.assert_array_equal(model.item_popularity_, support)
    assert model.n_sessions_ == len(sessions)

    predicted = model.predict(queries)
    assert predicted.shape == (len(queries), k)
    np.testing.assert_array_equal(predicted[:, len(items) :], PAD)
    known = predicted[:, : min(k, len(items))]
    # sums in another order: equal scores up to rounding, near-ties may swap
    got = np.take_along_axis(scores, np.searchsorted(items, known), axis=1)
    want = np.take_along_axis(scores, ranked, axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)
    unscored = want == 0  # the popularity tail is exact
    np.testing.assert_array_equal(known[unscored], items[ranked][unscored])


def test_integer_weights_match_exactly():
    # decay "none" with the dot product: every similarity is an integer, nothing to round
    sessions = _random_sessions(60, 12, seed=0)
    X, y, groups = _expand(sessions, max_len=8)
    params = dict(
        n_neighbors=7,
        sample_size=15,
        decay="none",
        match_decay="none",
        idf_weighting=0.0,
        similarity="dot",
    )
    model = SessionKNNRecommender(**params).fit(X, y, groups)
    items, _, _, ranked, _ = _reference(sessions, X, **params, k=20)
    np.testing.assert_array_equal(model.predict(X)[:, : ranked.shape[1]], items[ranked])


@pytest.mark.parametrize(
    "decay, expected",
    [
        ("linear", {1: 0.4, 2: 0.8, 3: 1.0}),  # 5 clicks 2 1 3 2 3: positions 1 to 5 of 5
        ("harmonic", {1: 1 / 4, 2: 1 / 2, 3: 1.0}),
        ("none", {1: 1.0, 2: 1.0, 3: 1.0}),
    ],
)
def test_prefix_weights_take_the_newest_click(decay, expected):
    X, y, _ = _expand([[1, 2, 3, 4]], max_len=5)
    model = SessionKNNRecommender(decay=decay).fit(X, y)
    weights, recency = model._prefix_weights(model._encode([[2, 1, 3, 2, 3]]))
    column = model._rank_of[model._encode(list(expected)) - 1]
    np.testing.assert_allclose(weights.toarray()[0, column], list(expected.values()))
    np.testing.assert_array_equal(recency.toarray()[0, column], [4.0**-3, 4.0**-1, 1.0])
    assert weights.nnz == recency.nnz == 3


def test_decay_picks_the_neighbours():
    # prefix 1 2: session [2, 6] shares the newer click, [1, 5] (newer) the older one
    X, y, _ = _expand([[2, 6], [1, 5], [7, 8]], max_len=3)
    for decay, best in [("linear", [2, 6]), ("harmonic", [2, 6]), ("none", [1, 5])]:
        # "none": both have similarity 1, a tie broken towards the newer session [1, 5]
        model = SessionKNNRecommender(**{**PLAIN, "decay": decay}, n_neighbors=1).fit(X, y)
        assert model.predict([[PAD, 1, 2]])[0, :2].tolist() == best


def test_match_decay_discounts_neighbours_of_older_clicks():
    # prefix 1 2 with decay "none": [1, 5] and [2, 6] are equally similar; the match decay
    # halves the vote of [1, 5], which matches only the older click
    X, y, _ = _expand([[1, 5], [2, 6]], max_len=3)
    for match_decay, best in [("harmonic", 6), ("none", 5)]:
        model = SessionKNNRecommender(
            decay="none", match_decay=match_decay, idf_weighting=0.0, n_recommendations=4
        ).fit(X, y)
        scored = [item for item in model.predict([[PAD, 1, 2]])[0] if item in (5, 6)]
        # "none": 5 and 6 tie, and 5 and 6 are equally popular: the lower id first
        assert scored[0] == best


def test_sample_size_keeps_the_most_recent_sessions():
    sessions = [[1, 2], [1, 3], [1, 4]]  # [1, 4] is the newest
    X, y, _ = _expand(sessions, max_len=2)
    model = SessionKNNRecommender(**PLAIN, sample_size=1, n_recommendations=4).fit(X, y)
    assert model.predict([[PAD, 1]])[0].tolist() == [1, 4, 2, 3]
    np.testing.assert_array_equal(model.session_items_.toarray()[0], [1, 0, 0, 1])
    wider = SessionKNNRecommender(**PLAIN, sample_size=2, n_recommendations=4).fit(X, y)
    assert wider.predict([[PAD, 1]])[0].tolist() == [1, 3, 4, 2]


def test_idf_weighting_favours_rare_items():
    # after 1, the neighbours [1, 2] and [1, 2, 3] score 1 and 2 twice and 3 once; 2 is in
    # every session, 3 in one
    X, y, _ = _expand([[1, 2], [1, 2, 3], [2, 4], [2, 5], [2, 6]], max_len=3)
    plain = SessionKNNRecommender(**{**PLAIN, "decay": "none"}).fit(X, y)
    assert plain.predict([[PAD, PAD, 1]])[0, :3].tolist() == [2, 1, 3]  # ties: popularity
    boosted = SessionKNNRecommender(**{**PLAIN, "decay": "none", "idf_weighting": 5.0})
    assert boosted.fit(X, y).predict([[PAD, PAD, 1]])[0, :3].tolist() == [1, 3, 2]


def test_cosine_favours_short_sessions():
    sessions = [[1, 2], [1, 3, 4, 5, 6]]
    X, y, _ = _expand(sessions, max_len=5)
    dot = SessionKNNRecommender(**PLAIN, n_neighbors=1).fit(X, y)
    cosine = SessionKNNRecommender(**PLAIN, n_neighbors=1, similarity="cosine").fit(X, y)
    assert 3 in dot.predict([[PAD] * 4 + [1]])[0, :2]  # a tie: the newer session
    assert cosine.predict([[PAD] * 4 + [1]])[0, :2].tolist() == [1, 2]


# ---------------------------------------------------------------------- unknown and odd input
def test_unknown_and_empty_prefixes_get_the_most_popular_items():
    X, y, _ = _expand(_random_sessions(50, 10, seed=2), max_len=5)
    model = SessionKNNRecommender(n_recommendations=10, handle_unknown="ignore").fit(X, y)
    popular = model.items_[np.argsort(-model.item_popularity_, kind="stable")]
    np.testing.assert_array_equal(model.predict([[PAD] * 3 + [1000, 2000]])[0], popular)
    np.testing.assert_array_equal(model.predict(np.full((1, 5), PAD))[0], popular)


@pytest.mark.parametrize("decay", ["linear", "harmonic", "none"])
def test_unknown_clicks_in_the_prefix_add_nothing(decay):
    X, y, _ = _expand(_random_sessions(50, 10, seed=3), max_len=5)
    model = SessionKNNRecommender(decay=decay, handle_unknown="ignore").fit(X, y)
    a = model.predict([[PAD, 3, 500, 1, 2], [PAD, 3, 1, 2, 500]])
    b = model.predict([[PAD, 3, 777, 1, 2], [PAD, 3, 1, 2, 2**40]])
    np.testing.assert_array_equal(a, b)


def test_unknown_target_is_a_miss_not_an_error():
    X, y, _ = _expand(_random_sessions(50, 10, seed=4), max_len=5)
    model = SessionKNNRecommender().fit(X, y)
    assert model.score(X[:3], [1000, 1001, 1002]) == 0.0
    for scorer in SCORERS.values():
        assert scorer(model, X[:3], [1000, 1001, 1002]) == 0.0


def test_empty_rows_are_left_out_of_training():
    X, y, groups = _expand(_random_sessions(30, 8, seed=5), max_len=4)
    X_empty = np.vstack([X, np.full((2, 4), PAD)])
    y_empty = np.r_[y, [3, 4]]
    with pytest.warns(UserWarning, match="2 of .* contain no click"):
        model = SessionKNNRecommender(n_recommendations=8).fit(X_empty, y_empty)
    with pytest.warns(UserWarning, match="no click"):
        grouped = SessionKNNRecommender(n_recommendations=8).fit(
            X_empty, y_empty, np.r_[groups, [100, 101]]
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = SessionKNNRecommender(n_recommendations=8).fit(X, y)
        grouped_reference = SessionKNNRecommender(n_recommendations=8).fit(X, y, groups)
        np.testing.assert_array_equal(model.predict(X), reference.predict(X))
        np.testing.assert_array_equal(grouped.predict(X), grouped_reference.predict(X))


def test_single_item_catalogue():
    model = SessionKNNRecommender(n_recommendations=3, handle_unknown="ignore")
    model.fit([[PAD, 5], [5, 5]], [5, 5])
    np.testing.assert_array_equal(model.predict([[PAD, 5], [PAD, 6]]), [[5, PAD, PAD]] * 2)


def test_rebuilt_sessions_equal_groups():
    # no session's clicks begin another's: the rebuilt sessions and their order are exact
    rng = np.random.default_rng(6)
    sessions = [[start] + list(rng.integers(20, 40, 4)) for start in range(20)]
    X, y, groups = _expand(sessions, max_len=8)
    rebuilt = SessionKNNRecommender(sample_size=5, n_neighbors=3).fit(X, y)
    true = SessionKNNRecommender(sample_size=5, n_neighbors=3).fit(X, y, groups)
    assert (rebuilt.session_items_ != true.session_items_).nnz == 0
    np.testing.assert_array_equal(rebuilt.predict(X), true.predict(X))


def test_groups_of_the_wrong_length():
    X, y, groups = _expand([[1, 2, 3]], max_len=2)
    with pytest.raises(ValueError, match="groups must be 1-D with one session per row"):
        SessionKNNRecommender().fit(X, y, groups[:1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"sample_size": 0}, "sample_size"),
        ({"decay": "same"}, "decay"),
        ({"similarity": "jaccard"}, "similarity"),
        ({"match_decay": "linear"}, "match_decay"),
        ({"idf_weighting": -1.0}, "idf_weighting"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SessionKNNRecommender(**params).fit([[PAD, 1]], [2])


# ---------------------------------------------------------------------- estimator contract
def test_not_fitted():
    with pytest.raises(NotFittedError):
        SessionKNNRecommender().predict([[PAD, 1]])
    assert not hasattr(SessionKNNRecommender(), "session_items_")


def test_pickle_and_joblib_round_trip(tmp_path):
    X, y, _ = _expand(_random_sessions(60, 15, seed=8), max_len=6)
    model = SessionKNNRecommender(n_neighbors=5, sample_size=10).fit(X, y)
    expected = model.predict(X)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X), expected)
    assert copy.get_params() == clone(model).get_params()
    joblib.dump(model, tmp_path / "sknn.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "sknn.joblib").predict(X), expected)


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_batch_composition_does_not_change_predictions(similarity, monkeypatch):
    X, y, _ = _expand(_random_sessions(80, 25, seed=9), max_len=6)
    model = SessionKNNRecommender(n_neighbors=4, sample_size=12, similarity=similarity)
    model.fit(X, y)
    together = model.predict(X)
    alone = np.vstack([model.predict(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(together, alone)
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(model.predict(X[order]), together[order])
    # tiny memory budgets: many row blocks and many dense ranking blocks
    monkeypatch.setattr(neighbors, "_MAX_ENTRIES", 7)
    monkeypatch.setattr(neighbors, "_MAX_CELLS", 5)
    np.testing.assert_array_equal(model.predict(X), together)


@requires_shared_data
@pytest.mark.parametrize(
    "name, published", [("yoochoose1_64", (0.6961, 0.2879)), ("diginetica", (0.5203, 0.1841))]
)
def test_within_one_and_a_half_points_of_the_published_figures(name, published):
    from skvaser.evaluation import evaluate_recommender, load_train_test

    train, test, _ = load_train_test(SHARED_DATA / f"{name}.csv.gz")
    result = evaluate_recommender(SessionKNNRecommender(handle_unknown="ignore"), train, test,
                                  max_len=30)
    assert result["recall"] >= published[0] - 0.015
    assert result["mrr"] >= published[1] - 0.015
