"""The synthetic session generator: determinism, shapes, length statistics and structure."""

import cProfile
import pstats

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skvaser._sklearn import InvalidParameterError
from skvaser.datasets import make_sessions, sessions_to_prefixes
from skvaser.datasets._synthetic import MAX_LENGTH


def _lengths(session_ids):
    return np.bincount(session_ids)


def _next_click_pairs(session_ids, item_ids, sessions):
    """(previous item, next item, first item of the session) of the sessions selected."""
    same = session_ids[1:] == session_ids[:-1]
    chosen = same & np.isin(session_ids[1:], sessions)
    first_index = np.searchsorted(session_ids, session_ids)
    return item_ids[:-1][chosen], item_ids[1:][chosen], item_ids[first_index][1:][chosen]


def _recall_mrr(scores, targets, k=20):
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = top == targets[:, None]
    return hits.any(axis=1).mean(), (hits / np.arange(1, k + 1)).sum(axis=1).mean()


def _predictors(n_sessions=6000, n_items=300, **params):
    """Recall@20/MRR@20 of popularity, forward-transition and symmetric co-occurrence scores."""
    sessions, items, _ = make_sessions(n_sessions, n_items, random_state=0, **params)
    train = np.arange(int(n_sessions * 0.8))
    test = np.arange(int(n_sessions * 0.8), n_sessions)
    prev, nxt, _ = _next_click_pairs(sessions, items, train)
    forward = np.zeros((n_items, n_items))
    np.add.at(forward, (prev, nxt), 1)
    popularity = np.bincount(items[np.isin(sessions, train)], minlength=n_items)
    prev_test, next_test, first_test = _next_click_pairs(sessions, items, test)
    tie_break = 1e-6 * popularity
    return {
        "popularity": _recall_mrr(np.tile(popularity, (len(prev_test), 1)), next_test),
        "forward": _recall_mrr(forward[prev_test] + tie_break, next_test),
        "symmetric": _recall_mrr((forward + forward.T)[prev_test] + tie_break, next_test),
        "first_click": (forward + forward.T)[first_test] + tie_break,
        "targets": next_test,
    }


def test_shapes_dtypes_and_ranges():
    sessions, items, times = make_sessions(500, 80, random_state=0)
    assert sessions.dtype == np.int64 and items.dtype == np.int64 and times.dtype == np.float64
    assert sessions.shape == items.shape == times.shape
    assert np.array_equal(np.unique(sessions), np.arange(500))
    assert items.min() >= 0 and items.max() < 80
    lengths = _lengths(sessions)
    assert lengths.min() >= 2 and lengths.max() <= MAX_LENGTH


def test_sessions_and_clicks_are_in_time_order():
    sessions, _, times = make_sessions(300, 50, random_state=1)
    assert (np.diff(sessions) >= 0).all()  # sessions are contiguous and in order
    assert (np.diff(times) > 0).all()  # strictly increasing, across and within sessions
    assert 1.39e9 < times[0] < times[-1]  # unix seconds


def test_deterministic_for_a_seed_and_leaves_the_global_rng_alone():
    state = np.random.get_state()[1].copy()
    first = make_sessions(200, 50, random_state=42)
    second = make_sessions(200, 50, random_state=42)
    other = make_sessions(200, 50, random_state=43)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert len(first[1]) != len(other[1]) or not np.array_equal(first[1], other[1])
    assert np.array_equal(np.random.get_state()[1], state)


def test_random_state_instance_is_used():
    rng = np.random.RandomState(0)
    first = make_sessions(100, 30, random_state=rng)
    second = make_sessions(100, 30, random_state=rng)  # the instance moved on
    assert not (len(first[1]) == len(second[1]) and np.array_equal(first[1], second[1]))


def test_length_distribution_is_like_yoochoose():
    # YOOCHOOSE 1/64: mean 4.24 clicks, 43 % of sessions have 2 clicks, 90th percentile 8.
    lengths = _lengths(make_sessions(20000, 1000, mean_length=4.24, random_state=0)[0])
    assert lengths.mean() == pytest.approx(4.24, rel=0.05)
    assert 0.35 < np.mean(lengths == 2) < 0.5
    assert 6 <= np.percentile(lengths, 90) <= 10
    assert lengths.max() > 30  # a heavy tail


@pytest.mark.parametrize("mean_length", [2.0, 3.0, 8.0])
def test_mean_length_is_followed(mean_length):
    lengths = _lengths(make_sessions(20000, 200, mean_length=mean_length, random_state=0)[0])
    assert lengths.mean() == pytest.approx(mean_length, rel=0.05)


def test_popularity_is_zipf_like():
    def top_share(exponent):
        items = make_sessions(5000, 1000, popularity_exponent=exponent, random_state=0)[1]
        counts = np.sort(np.bincount(items, minlength=1000))[::-1]
        return counts[:100].sum() / counts.sum()

    assert top_share(1.0) > 0.5  # the top 10 % of the items draw most clicks
    assert top_share(0.0) < 0.3  # no popularity skew: close to 10 %


def test_repeat_clicks_follow_repeat_prob():
    def repeat_rate(repeat_prob):
        sessions, items, _ = make_sessions(
            3000, 500, repeat_prob=repeat_prob, transition_strength=0.2, random_state=0
        )
        pairs = np.unique(np.c_[sessions, items], axis=0)
        return 1 - len(pairs) / len(items)  # share of clicks on an item seen in the session

    assert repeat_rate(0.4) > repeat_rate(0.0) + 0.2
    assert repeat_rate(0.1) > repeat_rate(0.0)


def test_transitions_make_order_matter():
    scores = _predictors()
    recall_pop, _ = scores["popularity"]
    recall_forward, mrr_forward = scores["forward"]
    _, mrr_symmetric = scores["symmetric"]
    assert recall_forward > recall_pop + 0.15  # the previous click predicts the next
    assert mrr_forward > mrr_symmetric + 0.03  # and its direction matters


def test_without_transitions_order_does_not_matter():
    scores = _predictors(transition_strength=0.0, repeat_prob=0.0)
    with_transitions = _predictors()
    _, mrr_forward = scores["forward"]
    assert mrr_forward < with_transitions["forward"][1] - 0.08
    assert scores["symmetric"][1] > mrr_forward - 0.01  # direction carries nothing now


def test_intents_make_earlier_clicks_informative():
    # Without transitions or repeats, the session's first click still predicts later clicks:
    # both come from the session's latent intent.
    scores = _predictors(transition_strength=0.0, repeat_prob=0.0)
    recall_first, _ = _recall_mrr(scores["first_click"], scores["targets"])
    assert recall_first > scores["popularity"][0] + 0.05


def test_empty_and_tiny_logs():
    sessions, items, times = make_sessions(0, 5, random_state=0)
    assert sessions.shape == items.shape == times.shape == (0,)
    assert sessions.dtype == np.int64 and times.dtype == np.float64
    sessions, items, _ = make_sessions(10, 1, n_intents=3, random_state=0)
    assert (items == 0).all() and _lengths(sessions).min() >= 2


def test_feeds_sessions_to_prefixes():
    sessions, items, times = make_sessions(100, 40, random_state=0)
    X, y, groups = sessions_to_prefixes(sessions, items, times, max_len=5)
    assert len(y) == len(items) - 100


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"repeat_prob": 0.6, "transition_strength": 0.6}, ValueError,
         r"repeat_prob \+ transition_strength must not exceed 1; got 0.6 \+ 0.6"),
        ({"n_items": 0}, InvalidParameterError, "'n_items' parameter .* Got 0 instead"),
        ({"mean_length": 1.5}, InvalidParameterError, "'mean_length' parameter .* Got 1.5"),
        ({"repeat_prob": -0.1}, InvalidParameterError, "'repeat_prob' parameter .* Got -0.1"),
        ({"popularity_exponent": -1}, InvalidParameterError,
         "'popularity_exponent' parameter .* Got -1"),
        ({"random_state": "seed"}, InvalidParameterError, "'random_state' parameter .* Got 'seed'"),
    ],
)
def test_invalid_parameters(params, error, message):
    with pytest.raises(error, match=message):
        make_sessions(**{"n_sessions": 10, "n_items": 10, **params})


def _python_calls(function, *args, **kwargs):
    """Python function calls made by ``function(*args, **kwargs)`` (a count, not a time)."""
    profile = cProfile.Profile()
    profile.runcall(function, *args, **kwargs)
    return pstats.Stats(profile).total_calls


def test_generation_is_vectorised():
    """No Python loop over sessions or clicks: ten times the sessions, about the same calls.

    (Counted rather than timed: a wall-clock bound fails on a loaded machine.)
    """
    small = _python_calls(make_sessions, 1_000, 5_000, random_state=0)
    large = _python_calls(make_sessions, 10_000, 5_000, random_state=0)
    assert large < 1.2 * small


@settings(max_examples=30, deadline=None)
@given(
    n_sessions=st.integers(0, 40),
    n_items=st.integers(1, 30),
    n_intents=st.integers(1, 8),
    mean_length=st.floats(2, 12),
    repeat_prob=st.floats(0, 0.5),
    transition_strength=st.floats(0, 0.5),
    popularity_exponent=st.floats(0, 3),
    seed=st.integers(0, 2**16),
)
def test_invariants_hold_for_any_parameters(
    n_sessions,
    n_items,
    n_intents,
    mean_length,
    repeat_prob,
    transition_strength,
    popularity_exponent,
    seed,
):
    sessions, items, times = make_sessions(
        n_sessions,
        n_items,
        n_intents=n_intents,
        mean_length=mean_length,
        repeat_prob=repeat_prob,
        transition_strength=transition_strength,
        popularity_exponent=popularity_exponent,
        random_state=seed,
    )
    lengths = np.bincount(sessions, minlength=n_sessions)
    assert len(lengths) == n_sessions
    assert (lengths >= 2).all() and (lengths <= MAX_LENGTH).all()
    assert ((items >= 0) & (items < n_items)).all()
    assert (np.diff(sessions) >= 0).all() and (np.diff(times) > 0).all()
