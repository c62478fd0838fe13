"""SessionSplitter: partitions of whole sessions, time order, routing of ``groups``."""

import doctest
import pickle

import numpy as np
import pytest
import sklearn
from _settings import make_fast
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

import skvaser.model_selection
from skvaser import SCORERS, VASERRecommender, sessions_to_prefixes
from skvaser._ranking import top_k
from skvaser.base import BaseRecommender
from skvaser.model_selection import SessionSplitter

fast = settings(max_examples=200, deadline=None)


@st.composite
def session_groups(draw, max_sessions=25):
    """Session of each row: sessions of 1-4 rows, interleaved, labels unrelated to order."""
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_sessions))
    rows = np.repeat(np.arange(len(lengths)), lengths)
    order = draw(st.permutations(range(len(rows))))
    labels = np.asarray(draw(st.permutations(range(len(lengths)))))
    return labels[rows[list(order)]]


groups_strategy = session_groups()


def first_rows(groups):
    """Session id -> index of its first row."""
    labels, first = np.unique(groups, return_index=True)
    return dict(zip(labels.tolist(), first.tolist()))


def session_ranks(groups):
    """Session id -> its position when sessions are ordered by first row."""
    first = first_rows(groups)
    return {label: rank for rank, label in enumerate(sorted(first, key=first.get))}


def check_whole_sessions(groups, rows):
    """``rows`` holds every row of each session it touches, ascending and unique."""
    assert rows.dtype.kind == "i"
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, np.flatnonzero(np.isin(groups, groups[rows])))


def expected_time_split_valid(n_sessions, n_splits, test_size, gap):
    size = n_sessions // (n_splits + 1) if test_size is None else test_size
    return size >= 1 and n_sessions - gap - n_splits * size >= 1


# ---------------------------------------------------------------------- time-ordered split
@fast
@given(
    groups=groups_strategy,
    n_splits=st.integers(1, 4),
    test_size=st.none() | st.integers(1, 3),
    gap=st.integers(0, 3),
    max_train_size=st.none() | st.integers(1, 6),
)
def test_time_split_properties(groups, n_splits, test_size, gap, max_train_size):
    cv = SessionSplitter(n_splits, test_size=test_size, gap=gap, max_train_size=max_train_size)
    X = np.zeros((len(groups), 3))
    n_sessions = len(np.unique(groups))
    valid = expected_time_split_valid(n_sessions, n_splits, test_size, gap)
    event(f"valid={valid}")
    if not valid:
        with pytest.raises(ValueError, match="Too few sessions"):
            list(cv.split(X, groups=groups))
        return

    splits = list(cv.split(X, groups=groups))
    assert len(splits) == cv.get_n_splits() == n_splits
    first, rank = first_rows(groups), session_ranks(groups)
    size = n_sessions // (n_splits + 1) if test_size is None else test_size
    test_ranks = []
    for train, test in splits:
        check_whole_sessions(groups, train)
        check_whole_sessions(groups, test)
        assert len(np.intersect1d(train, test)) == 0
        train_sessions, test_sessions = set(groups[train].tolist()), set(groups[test].tolist())
        assert train_sessions and test_sessions
        assert not train_sessions & test_sessions
        # every training session starts before every test session
        assert max(first[s] for s in train_sessions) < min(first[s] for s in test_sessions)
        train_r = sorted(rank[s] for s in train_sessions)
        test_r = sorted(rank[s] for s in test_sessions)
        assert len(test_r) == size
        assert test_r == list(range(test_r[0], test_r[0] + size))  # a block of sessions
        assert train_r == list(range(train_r[0], train_r[-1] + 1))  # the most recent ones
        assert test_r[0] - train_r[-1] - 1 == gap
        expected_train = test_r[0] - gap
        if max_train_size is not None:
            expected_train = min(expected_train, max_train_size)
        assert len(train_r) == expected_train
        test_ranks.append(test_r)
    # test blocks are disjoint, consecutive and end with the last session
    flat = [r for block in test_ranks for r in block]
    assert flat == list(range(n_sessions - n_splits * size, n_sessions))
    if max_train_size is None:  # expanding window
        for (train_a, _), (train_b, _) in zip(splits, splits[1:]):
            assert set(train_a.tolist()) < set(train_b.tolist())


def test_time_split_on_prefixes_never_trains_on_the_future():
    rng = np.random.default_rng(0)
    n_clicks = 300
    session_ids = np.sort(rng.integers(0, 60, n_clicks))
    timestamps = session_ids * 10.0 + rng.random(n_clicks) * 25  # sessions overlap in time
    X, y, groups = sessions_to_prefixes(session_ids, rng.integers(0, 9, n_clicks), timestamps)
    start = {s: timestamps[session_ids == s].min() for s in np.unique(session_ids)}
    for train, test in SessionSplitter(n_splits=4, gap=2).split(X, y, groups):
        assert max(start[s] for s in groups[train]) <= min(start[s] for s in groups[test])


def test_default_test_size_matches_time_series_split_on_sessions():
    groups = np.repeat(np.arange(12), 2)
    splits = list(SessionSplitter(n_splits=3).split(np.zeros((24, 1)), groups=groups))
    # 12 sessions, 3 splits: test_size = 12 // 4 = 3 sessions = 6 rows
    assert [len(test) for _, test in splits] == [6, 6, 6]
    assert [len(train) for train, _ in splits] == [6, 12, 18]


# ---------------------------------------------------------------------- shuffled split
@fast
@given(groups=groups_strategy, n_splits=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_shuffled_split_properties(groups, n_splits, seed):
    cv = SessionSplitter(n_splits, shuffle=True, random_state=seed)
    X = np.zeros((len(groups), 2))
    n_sessions = len(np.unique(groups))
    if n_splits > n_sessions:
        with pytest.raises(ValueError, match="Too few sessions"):
            list(cv.split(X, groups=groups))
        return
    splits = list(cv.split(X, groups=groups))
    assert len(splits) == cv.get_n_splits() == n_splits
    tested = []
    for train, test in splits:
        check_whole_sessions(groups, test)
        np.testing.assert_array_equal(train, np.setdiff1d(np.arange(len(groups)), test))
        assert not set(groups[train].tolist()) & set(groups[test].tolist())
        tested.append(len(np.unique(groups[test])))
    # every row (so every session) is tested exactly once
    np.testing.assert_array_equal(
        np.sort(np.concatenate([t for _, t in splits])), np.arange(len(groups))
    )
    assert max(tested) - min(tested) <= 1  # folds of (nearly) equal numbers of sessions
    again = list(SessionSplitter(n_splits, shuffle=True, random_state=seed).split(X, groups=groups))
    for (train_a, test_a), (train_b, test_b) in zip(splits, again):
        np.testing.assert_array_equal(train_a, train_b)
        np.testing.assert_array_equal(test_a, test_b)


def test_shuffled_split_depends_on_the_seed():
    groups = np.arange(40)
    X = np.zeros((40, 1))
    folds = set()
    for seed in range(5):
        splits = SessionSplitter(4, shuffle=True, random_state=seed).split(X, groups=groups)
        folds.add(tuple(tuple(test) for _, test in splits))
    assert len(folds) > 1


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_splits": 0}, "n_splits"),
        ({"n_splits": 2.5}, "n_splits"),
        ({"test_size": 0}, "test_size"),
        ({"gap": -1}, "gap"),
        ({"max_train_size": 0}, "max_train_size"),
        ({"shuffle": "yes"}, "shuffle"),
        ({"shuffle": True, "n_splits": 1}, "n_splits >= 2"),
        ({"shuffle": True, "gap": 1}, "gap only applies to the time-ordered split; leave it"),
        ({"shuffle": True, "test_size": 2, "max_train_size": 3},
         "test_size, max_train_size only apply to the time-ordered split; leave them"),
    ],
)
def test_invalid_parameters(params, match):
    cv = SessionSplitter(**params)  # stored verbatim, checked when used
    with pytest.raises(ValueError, match=match):
        list(cv.split(np.zeros((20, 1)), groups=np.arange(20)))
    with pytest.raises(ValueError, match=match):
        cv.get_n_splits()


def test_groups_are_required():
    with pytest.raises(ValueError, match="groups"):
        list(SessionSplitter(2).split(np.zeros((6, 1))))


@pytest.mark.parametrize(
    "groups, match",
    [
        (np.arange(5), "inconsistent numbers of samples"),
        (np.arange(6).reshape(6, 1), "1-D"),
        (np.array([0, 1, np.nan, 2, 3, 4]), "NaN"),
        (np.array([0, 1, None, 2, None, 4], dtype=object), r"missing \(None or NaN\) on 2 of 6 "
         "rows, the first at row 2"),
    ],
)
def test_bad_groups(groups, match):
    with pytest.raises(ValueError, match=match):
        list(SessionSplitter(2).split(np.zeros((6, 1)), groups=groups))


@pytest.mark.parametrize(
    "params, n_sessions",
    [
        ({"n_splits": 5}, 5),  # needs n_splits + 1 sessions
        ({"n_splits": 2, "test_size": 3}, 6),  # no training session left
        ({"n_splits": 2, "gap": 2}, 4),
        ({"n_splits": 5, "shuffle": True}, 4),
    ],
)
def test_too_few_sessions(params, n_sessions):
    groups = np.repeat(np.arange(n_sessions), 3)
    with pytest.raises(ValueError, match="Too few sessions"):
        list(SessionSplitter(**params).split(np.zeros((len(groups), 1)), groups=groups))


def test_string_groups_and_pickling():
    groups = np.array(["b", "b", "a", "c", "a", "d", "e", "e"])
    cv = SessionSplitter(2)
    splits = list(cv.split(np.zeros((8, 1)), groups=groups))
    # sessions in first-row order: b, a, c, d, e; test_size = 5 // 3 = 1
    assert [sorted(set(groups[test])) for _, test in splits] == [["d"], ["e"]]
    assert sorted(set(groups[splits[0][0]])) == ["a", "b", "c"]
    clone = pickle.loads(pickle.dumps(cv))
    for (a, b), (c, d) in zip(splits, clone.split(np.zeros((8, 1)), groups=groups)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_doctests():
    assert doctest.testmod(skvaser.model_selection).failed == 0


# ---------------------------------------------------------------------- scikit-learn tools
class MostPopular(BaseRecommender):
    """Recommends the items most often clicked next in training, whatever the prefix."""

    def __init__(
        self, n_recommendations=20, exclude_seen=False, handle_unknown="warn", padding_value=-1,
        smoothing=0,
    ):
        self.n_recommendations = n_recommendations
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.padding_value = padding_value
        self.smoothing = smoothing

    def fit(self, X, y):
        _, targets, _ = self._prepare_fit(X, y)
        self.popularity_ = np.bincount(targets, minlength=self.n_items_ + 1)[1:] + self.smoothing
        return self

    def _rank(self, codes, k, *, allowed, exclude_seen):
        scores = np.broadcast_to(self.popularity_, (len(codes), self.n_items_))
        indices = top_k(scores, k)
        return indices, np.take_along_axis(scores, indices, axis=1).astype(np.float64)


@pytest.fixture(scope="module")
def prefixes():
    rng = np.random.default_rng(1)
    session_ids = np.repeat(np.arange(80), rng.integers(2, 6, 80))
    items = rng.zipf(1.6, len(session_ids)) % 40
    return sessions_to_prefixes(session_ids, items, max_len=5)


def test_get_metadata_routing_requests_groups():
    assert SessionSplitter().get_metadata_routing().split.requests == {"groups": True}


@pytest.mark.parametrize("routing", [False, True])
def test_cross_validate(prefixes, routing):
    X, y, groups = prefixes
    cv = SessionSplitter(n_splits=3, gap=1)
    with sklearn.config_context(enable_metadata_routing=routing):
        kwargs = {"params": {"groups": groups}} if routing else {"groups": groups}
        result = cross_validate(
            make_pipeline(MostPopular(handle_unknown="ignore")), X, y, cv=cv, scoring=SCORERS,
            **kwargs,
        )
    assert len(result["test_recall@20"]) == 3
    assert np.all(
        (0 <= result["test_mrr@20"]) & (result["test_mrr@20"] <= result["test_recall@20"])
    )
    assert np.all(result["test_recall@20"] > 0)


@pytest.mark.parametrize("routing", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_grid_search(prefixes, routing, shuffle):
    X, y, groups = prefixes
    cv = SessionSplitter(n_splits=3, shuffle=shuffle, random_state=0 if shuffle else None)
    search = GridSearchCV(
        MostPopular(handle_unknown="ignore"), {"smoothing": [0, 1]}, cv=cv, scoring=SCORERS,
        refit="recall@20", error_score="raise",
    )
    with sklearn.config_context(enable_metadata_routing=routing):
        search.fit(X, y, groups=groups)
    assert search.n_splits_ == 3
    assert search.best_params_["smoothing"] in (0, 1)
    assert search.predict(X[:4]).shape == (4, 20)


def test_successive_halving_over_epochs(prefixes):
    """The tuning guide's recipe: HalvingGridSearchCV with the epochs as its resource, so the
    first round trains every setting briefly and later rounds train the best longer."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    X, y, groups = prefixes
    search = HalvingGridSearchCV(
        make_fast(VASERRecommender, handle_unknown="ignore"),
        {"beta": [0.0, 0.2], "n_flows": [0, 2]},
        resource="max_iter", min_resources=1, max_resources=3, factor=2,
        scoring=SCORERS["recall@20"], cv=SessionSplitter(n_splits=2),
    )
    search.fit(X, y, groups=groups)
    assert search.n_resources_ == [1, 2]
    assert search.n_candidates_ == [4, 2]
    assert search.best_params_["max_iter"] == 2
    assert search.best_estimator_.n_iter_ == 2
    assert search.cv_results_["n_resources"].tolist() == [1] * 4 + [2] * 2


def test_cross_validate_without_groups_fails_clearly(prefixes):
    X, y, _ = prefixes
    with pytest.raises(ValueError, match="groups"):
        cross_validate(MostPopular(), X, y, cv=SessionSplitter(3), error_score="raise")
