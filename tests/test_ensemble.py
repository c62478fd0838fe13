"""VotingRecommender: the votes against their definition, the members' parameters, bad input.

The checks every recommender passes (pickling, string ids, unknown items...) run on it in
``test_common.py``.
"""

import functools
import warnings

import numpy as np
import pytest
from _settings import make_fast
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skvaser import (
    ItemKNNRecommender,
    NARMRecommender,
    SessionKNNRecommender,
    SessionSplitter,
    VASERRecommender,
    VotingRecommender,
    sessions_to_prefixes,
)
from skvaser.datasets import make_sessions
from skvaser.ensemble import _top_votes


@functools.cache
def _data():
    X, y, groups = sessions_to_prefixes(*make_sessions(150, 40, random_state=1), max_len=8)
    return X, y, groups


def _members():
    return [("item", ItemKNNRecommender(n_neighbors=10)), ("session", SessionKNNRecommender())]


def _votes_by_definition(model, X, weights, n_candidates, rank_offset):
    """Each row's items by summed reciprocal-rank vote, from the members' own ``predict``:
    a list of (item, vote) lists, best first, ties by item id."""
    rows = [{} for _ in range(len(X))]
    for (_, member), weight in zip(model.named_estimators_.items(), weights):
        ranked = clone(member).fit(*_data()[:2]).set_params(n_recommendations=n_candidates)
        for row, items in zip(rows, ranked.predict(X)):
            for rank, item in enumerate(items, start=1):
                if item != -1:
                    row[item] = row.get(item, 0.0) + weight / (rank_offset + rank)
    return [sorted(row.items(), key=lambda pair: (-pair[1], pair[0])) for row in rows]


@pytest.mark.parametrize(
    "weights, n_candidates, rank_offset", [([1, 2], 200, 5.0), ([0.7, 0.3], 6, 0.0)]
)
def test_votes_are_the_weighted_reciprocal_ranks(weights, n_candidates, rank_offset):
    X, y, _ = _data()
    model = VotingRecommender(
        estimators=_members(), weights=weights, n_candidates=n_candidates, rank_offset=rank_offset,
        n_recommendations=10,
    ).fit(X, y)
    items, scores = model.predict(X[:60], return_scores=True)
    expected = _votes_by_definition(model, X[:60], weights, max(n_candidates, 10), rank_offset)
    for row_items, row_scores, row in zip(items, scores, expected):
        kept = row[:10]
        np.testing.assert_array_equal(row_items[: len(kept)], [item for item, _ in kept])
        np.testing.assert_allclose(row_scores[: len(kept)], [vote for _, vote in kept])
        assert (row_items[len(kept) :] == -1).all()


def test_one_member_ranks_as_that_member():
    X, y, _ = _data()
    alone = SessionKNNRecommender(n_recommendations=15).fit(X, y)
    for voting in (
        VotingRecommender(estimators=[("session", SessionKNNRecommender())], n_recommendations=15),
        VotingRecommender(estimators=_members(), weights=[0, 1], n_recommendations=15),
    ):
        np.testing.assert_array_equal(voting.fit(X, y).predict(X), alone.predict(X))


def test_members_of_one_random_state_vote_as_one():
    X, y, _ = _data()
    vaser = make_fast(VASERRecommender, random_state=0, n_recommendations=15)
    alone = clone(vaser).fit(X, y).predict(X)
    twins = VotingRecommender(
        estimators=[("vaser0", vaser), ("vaser1", clone(vaser))], n_recommendations=15
    ).fit(X, y)
    np.testing.assert_array_equal(twins.predict(X), alone)
    # another random_state is another model: the vote of the two differs from either
    assert (twins.set_params(vaser1__random_state=1).fit(X, y).predict(X) != alone).any()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(-1, 9), min_size=4, max_size=4), min_size=1, max_size=5
    ).map(np.array),
    st.integers(1, 6),
)
def test_top_votes_sums_each_items_votes(indices, k):
    """Rows of 4 candidate slots (items 0..9, -1 empty; an item may fill several), as _rank
    builds them: the result is the k largest sums of each item's votes, ties by item index."""
    votes = np.where(indices >= 0, 0.25 * (1 + np.arange(4) % 3), 0.0)
    best, scores = _top_votes(indices, votes, k, 10)
    for row_indices, row_votes, row_best, row_scores in zip(indices, votes, best, scores):
        sums = {}
        for item, vote in zip(row_indices, row_votes):
            if item >= 0:
                sums[item] = sums.get(item, 0.0) + vote
        expected = sorted(sums.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
        np.testing.assert_array_equal(row_best[: len(expected)], [item for item, _ in expected])
        np.testing.assert_allclose(row_scores[: len(expected)], [vote for _, vote in expected])
        assert (row_best[len(expected) :] == -1).all()
        assert np.isneginf(row_scores[len(expected) :]).all()


def test_allowed_items_and_exclude_seen_reach_every_member():
    X, y, _ = _data()
    model = VotingRecommender(estimators=_members(), n_recommendations=5).fit(X, y)
    allowed = model.items_[::3]
    assert np.isin(model.predict(X, allowed_items=allowed), allowed).all()
    ranked = model.set_params(exclude_seen=True).predict(X)
    assert not any(np.isin(row, prefix).any() for row, prefix in zip(ranked, X))


def test_a_members_own_exclude_seen_holds_in_the_vote():
    X, y, _ = _data()
    members = [("session", SessionKNNRecommender(exclude_seen=True))]
    ranked = VotingRecommender(estimators=members, n_recommendations=5).fit(X, y).predict(X)
    assert not any(np.isin(row, prefix).any() for row, prefix in zip(ranked, X))


def test_exact_ties_go_by_item_index_whatever_order_the_votes_come_in():
    """Three members rank three items in rotated orders: every item sums the same three votes,
    which in floating point depends on the order they are added in."""
    indices = np.array([[0, 1, 2, 1, 2, 0, 2, 0, 1]])
    votes = np.tile([1 / 6, 1 / 7, 1 / 8], 3)[None, :]
    best, scores = _top_votes(indices, votes, 3, 3)
    np.testing.assert_array_equal(best, [[0, 1, 2]])
    assert scores[0, 0] == scores[0, 1] == scores[0, 2]


def test_members_parameters_are_nested_and_searchable():
    X, y, groups = _data()
    model = VotingRecommender(estimators=_members())
    params = model.get_params()
    assert params["session__n_neighbors"] == SessionKNNRecommender().n_neighbors
    model.set_params(session__n_neighbors=7, item=ItemKNNRecommender(n_neighbors=3))
    assert model.estimators[0][1].n_neighbors == 3
    assert model.estimators[1][1].n_neighbors == 7
    search = GridSearchCV(
        VotingRecommender(estimators=_members(), handle_unknown="ignore"),
        {"weights": [[1, 1], [1, 3]], "session__n_neighbors": [10, 50]},
        cv=SessionSplitter(n_splits=2),
    ).fit(X, y, groups=groups)
    assert search.best_estimator_.named_estimators_["session"].n_neighbors in (10, 50)


@pytest.mark.parametrize(
    "params",
    [dict(weights=None, vaser__beta=0.3), dict(estimators=None, weights=None, sknn__n_neighbors=7)],
)
def test_weights_none_with_the_default_members_keeps_their_weights(params):
    """``weights=None`` set in the call that makes the default members explicit (a grid over
    ``weights`` and a member's parameter; ``set_params(**get_params())``) still weighs them
    as ``VotingRecommender()`` does."""
    model = VotingRecommender().set_params(**params)
    assert model._member_weights(2).tolist() == [3.0, 1.0]
    model = VotingRecommender()
    model.set_params(**model.get_params())
    assert model._member_weights(2).tolist() == [3.0, 1.0]


def test_default_members_keep_a_nested_change():
    model = VotingRecommender()
    assert [name for name, _ in model._estimators] == ["vaser", "sknn"]
    assert model.get_params()["vaser__beta"] == VASERRecommender().beta
    model.set_params(vaser__beta=0.3)
    assert model.get_params()["vaser__beta"] == 0.3
    assert model._member_weights(2).tolist() == [3.0, 1.0]
    assert clone(VotingRecommender()).estimators is None


def test_groups_reach_the_members_that_take_them(monkeypatch):
    X, y, groups = _data()
    received = []
    fit = SessionKNNRecommender.fit

    def recording_fit(self, X, y, groups=None):
        received.append(groups)
        return fit(self, X, y, groups=groups)

    monkeypatch.setattr(SessionKNNRecommender, "fit", recording_fit)
    members = [("narm", make_fast(NARMRecommender)), ("session", SessionKNNRecommender())]
    VotingRecommender(estimators=members).fit(X, y, groups=groups)  # NARM's fit takes no groups
    np.testing.assert_array_equal(received[0], groups)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(estimators=[]), ValueError, "non-empty list of \\(name, recommender\\)"),
        (dict(estimators=[("a", ItemKNNRecommender()), ("a", ItemKNNRecommender())]),
         ValueError, "not unique"),
        (dict(estimators=[("a", GridSearchCV)]), TypeError, "not a skvaser recommender"),
        (dict(weights=[1, 2, 3]), ValueError, "one weight per estimator"),
        (dict(weights=[1, -1]), ValueError, "non-negative"),
        (dict(weights=[0, 0]), ValueError, "at least one positive"),
        (dict(weights=["a", 1]), ValueError, r"weights must be numbers, one per estimator; "
         r"got \['a', 1\]"),
        (dict(weights={"vaser": 1, "sknn": 2}), ValueError, "weights must be numbers"),
    ],
)
def test_bad_members_and_weights_are_named(params, error, match):
    X, y, _ = _data()
    model = VotingRecommender(**{"estimators": _members(), **params})
    with pytest.raises(error, match=match):
        model.fit(X, y)
    assert not hasattr(model, "estimators_")


def test_new_weights_need_no_new_fit():
    X, y, _ = _data()
    fitted = VotingRecommender(estimators=_members(), weights=[1, 1]).fit(X, y)
    refitted = VotingRecommender(estimators=_members(), weights=[1, 4]).fit(X, y)
    np.testing.assert_array_equal(
        fitted.set_params(weights=[1, 4]).predict(X), refitted.predict(X)
    )


def test_default_weights_follow_the_members():
    assert VotingRecommender()._member_weights(2).tolist() == [3.0, 1.0]
    assert VotingRecommender(estimators=_members())._member_weights(2).tolist() == [1.0, 1.0]


def test_a_failed_refit_leaves_the_earlier_fit():
    X, y, groups = _data()
    model = VotingRecommender(estimators=_members()).fit(X, y)
    expected = model.predict(X)
    with pytest.raises(ValueError, match="one session per row of X"):
        model.fit(X[:-5], y[:-5], groups=groups[:-1])
    model.set_params(estimators=[*_members(), ("bad", ItemKNNRecommender(n_neighbors=0))])
    model.set_params(weights=None)
    with pytest.raises(ValueError, match="n_neighbors"):
        model.fit(X[:-5], y[:-5])
    np.testing.assert_array_equal(model.predict(X), expected)
    assert len(model.estimators_) == 2


def test_new_members_and_their_parameters_in_one_call():
    """``estimators`` and the parameters of the new members in one ``set_params`` (as a grid
    over ``estimators`` sets them), as ``VotingClassifier`` and ``Pipeline`` accept."""
    model = VotingRecommender(estimators=_members()).set_params(
        estimators=[("knn", ItemKNNRecommender())], knn__n_neighbors=3
    )
    assert model.estimators[0][0] == "knn" and model.estimators[0][1].n_neighbors == 3
    # back to the default members, with a change kept
    model.set_params(estimators=None, vaser__beta=0.3)
    assert model.get_params()["vaser__beta"] == 0.3
    X, y, groups = _data()
    search = GridSearchCV(
        VotingRecommender(estimators=_members(), handle_unknown="ignore"),
        {"estimators": [[("knn", ItemKNNRecommender())]], "knn__n_neighbors": [3, 5]},
        cv=SessionSplitter(n_splits=2),
    ).fit(X, y, groups=groups)
    assert search.best_estimator_.named_estimators_["knn"].n_neighbors in (3, 5)


@pytest.mark.parametrize("parameter", ["foo", "vaser__foo"])
def test_a_failed_set_params_changes_nothing(parameter):
    """Neither an unknown parameter nor an unknown parameter of a default member makes the
    default members explicit."""
    model = VotingRecommender()
    with pytest.raises(ValueError, match="Invalid parameter 'foo'"):
        model.set_params(**{parameter: 1})
    assert model.estimators is None and model.weights is None


def test_persistence_dump_saves_the_members_once(tmp_path):
    """A vote saved without pickle ranks as before, its members saved once: the named members
    are the fitted ones, as after pickling."""
    from skvaser.persistence import dump, load

    X, y, _ = _data()
    members = [("vaser", make_fast(VASERRecommender)), *_members()]
    model = VotingRecommender(estimators=members, weights=[2, 1, 1]).fit(X, y)
    dump(model, tmp_path / "model.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(tmp_path / "model.npz")
    for filters in ({}, {"allowed_items": model.items_[::3]}):
        expected = model.predict(X, return_scores=True, **filters)
        found = loaded.predict(X, return_scores=True, **filters)
        np.testing.assert_array_equal(found[0], expected[0])
        np.testing.assert_array_equal(found[1], expected[1])
    assert [type(member) for member in loaded.estimators_] == [
        type(member) for member in model.estimators_
    ]
    assert list(loaded.named_estimators_.values()) == loaded.estimators_  # the same objects
    assert all(
        fitted is not template
        for fitted, (_, template) in zip(loaded.estimators_, loaded.estimators)
    )
    assert loaded.weights == [2, 1, 1] and loaded.get_params()["vaser__max_iter"] == 2


def test_persistence_dump_refuses_a_random_state_object(tmp_path):
    from skvaser.persistence import dump

    members = [("item", ItemKNNRecommender()), ("vaser", make_fast(VASERRecommender))]
    model = VotingRecommender(estimators=members).fit(*_data()[:2])
    model.set_params(vaser__random_state=np.random.RandomState(0))
    with pytest.raises(TypeError, match="RandomState.*save the model with joblib or pickle"):
        dump(model, tmp_path / "model.npz")


def test_persistence_load_refuses_tampered_members():
    """A vote's file whose member asks for an untrusted class, or refers to a member the file
    does not hold, is refused with a ValueError."""
    import io
    import re

    from skvaser.persistence import dump, load

    buffer = io.BytesIO()
    dump(VotingRecommender(estimators=_members()).fit(*_data()[:2]), buffer)
    with np.load(io.BytesIO(buffer.getvalue())) as archive:
        arrays = {key: archive[key] for key in archive.files}
    document = arrays.pop("skvaser.json").tobytes().decode()

    def load_with(pattern, replacement):
        changed, n = re.subn(pattern, replacement, document, count=1)
        assert n == 1
        tampered = io.BytesIO()
        header = np.frombuffer(changed.encode(), dtype=np.uint8)
        np.savez(tampered, **{"skvaser.json": header}, **arrays)
        return load(tampered.getvalue())

    with pytest.raises(ValueError, match="asks for a 'Popen', which is not trusted"):
        load_with(r'"recommender": \["SessionKNNRecommender"', '"recommender": ["Popen"')
    with pytest.raises(ValueError, match="recommender number 7 is out of order"):
        load_with(r'"recommender": \["ItemKNNRecommender", 0\]',
                  '"recommender": ["ItemKNNRecommender", 7]')
    # the fitted members are written once, and named again in named_estimators_
    with pytest.raises(ValueError, match="refers to a recommender 99 it does not hold"):
        load_with(r'\{"same": \d+\}', '{"same": 99}')
    with pytest.raises(ValueError, match="recommender 0 refers to itself"):
        load_with(r'(\["ItemKNNRecommender", 0\], "state": \{"dict": \{)',
                  r'\1"loop": {"same": 0}, ')
