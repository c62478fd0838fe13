"""The data contract: sessions_to_prefixes and its inverse prefixes_to_sessions."""

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skvaser.datasets._prefixes
from skvaser import sessions_to_prefixes
from skvaser.datasets._prefixes import prefixes_to_sessions

fast = settings(max_examples=150, deadline=None)


@st.composite
def click_logs(draw, timed=None):
    """(session_ids, item_ids, timestamps or None): interleaved sessions of 1-7 clicks."""
    lengths = draw(st.lists(st.integers(1, 7), max_size=10))
    labels = draw(
        st.lists(st.integers(-50, 50), min_size=len(lengths), max_size=len(lengths), unique=True)
    )
    sessions = np.repeat(np.asarray(labels, dtype=np.int64), lengths)
    order = draw(st.permutations(range(len(sessions))))
    sessions = sessions[list(order)]
    n = len(sessions)
    items = np.asarray(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=np.int64)
    if timed is None:
        timed = draw(st.booleans())
    if not timed:
        return sessions, items, None
    # few distinct times: ties inside and across sessions
    times = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return sessions, items, np.asarray(times, dtype=np.int64)


def reference(sessions, items, times, max_len, padding_value=-1):
    """Brute force: one sample per click after a session's first, in time order of targets."""
    times = np.arange(len(items)) if times is None else times
    rows = []
    for label in dict.fromkeys(sessions.tolist()):
        positions = [i for i in range(len(items)) if sessions[i] == label]
        positions.sort(key=lambda i: times[i])  # stable: ties keep input order
        clicks = [int(items[i]) for i in positions]
        for t in range(1, len(clicks)):
            prefix = clicks[max(0, t - max_len) : t]
            padded = [padding_value] * (max_len - len(prefix)) + prefix
            target = positions[t]
            rows.append(((times[target], target), padded, clicks[t], label))
    rows.sort(key=lambda row: row[0])
    X = np.array([r[1] for r in rows], dtype=np.int64).reshape(len(rows), max_len)
    return X, np.array([r[2] for r in rows], dtype=np.int64), np.array([r[3] for r in rows])


# ---------------------------------------------------------------------- properties
@fast
@given(click_logs(), st.integers(1, 8), st.integers(-3, -1))
def test_matches_brute_force(log, max_len, padding_value):
    sessions, items, times = log
    X, y, groups = sessions_to_prefixes(
        sessions, items, times, max_len=max_len, padding_value=padding_value
    )
    X_ref, y_ref, groups_ref = reference(sessions, items, times, max_len, padding_value)
    assert X.dtype == np.int64 and y.dtype == np.int64
    assert X.shape == (len(y), max_len) == (len(groups), max_len)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(groups, groups_ref.astype(groups.dtype))


@fast
@given(click_logs(), st.integers(1, 8))
def test_shape_and_padding(log, max_len):
    sessions, items, times = log
    X, y, groups = sessions_to_prefixes(sessions, items, times, max_len=max_len)
    labels, lengths = np.unique(sessions, return_counts=True)
    assert len(y) == (lengths - 1).sum()  # L - 1 samples per session of length L
    for label, length in zip(labels.tolist(), lengths.tolist()):
        assert (groups == label).sum() == length - 1
    is_pad = X == -1
    assert (X[~is_pad] >= 0).all()
    # left-padded: once a click appears, no padding follows; the newest click is always there
    assert not (np.diff(is_pad.astype(int), axis=1) > 0).any()
    assert not is_pad[:, -1].any()
    # prefix lengths within a session grow by one click per sample until max_len
    for label in labels.tolist():
        n_clicks = (~is_pad[groups == label]).sum(axis=1)
        np.testing.assert_array_equal(
            n_clicks, np.minimum(np.arange(1, len(n_clicks) + 1), max_len)
        )


@fast
@given(click_logs(timed=True))
def test_rows_in_time_order_of_targets(log):
    sessions, items, times = log
    X, y, groups = sessions_to_prefixes(sessions, items, times, max_len=3)
    row_times = np.empty(len(y))
    for label in dict.fromkeys(groups.tolist()):
        positions = sorted(np.flatnonzero(sessions == label).tolist(), key=lambda i: times[i])
        row_times[groups == label] = times[positions[1:]]
    assert (np.diff(row_times) >= 0).all()


def test_round_trip_of_string_ids():
    for padding in (None, ""):
        X, y, groups = sessions_to_prefixes(["a", "a", "a", "b", "b"], ["x", "y", "z", "x", "w"],
                                            max_len=3, padding_value=padding)
        rebuilt = prefixes_to_sessions(X, y, groups, padding_value=padding)
        assert {k: v.tolist() for k, v in rebuilt.items()} == {"a": ["x", "y", "z"],
                                                               "b": ["x", "w"]}


@fast
@given(click_logs())
def test_round_trip(log):
    sessions, items, times = log
    longest = np.unique(sessions, return_counts=True)[1].max(initial=1)
    max_len = max(1, longest - 1)  # a session of L clicks needs max_len >= L - 1
    X, y, groups = sessions_to_prefixes(sessions, items, times, max_len=max_len)
    rebuilt = prefixes_to_sessions(X, y, groups)
    order = np.arange(len(items)) if times is None else times
    expected = {}
    for label in dict.fromkeys(sessions.tolist()):
        positions = sorted(np.flatnonzero(sessions == label).tolist(), key=lambda i: order[i])
        if len(positions) > 1:  # one-click sessions give no sample
            expected[label] = items[positions]
    assert rebuilt.keys() == expected.keys()
    for label, clicks in expected.items():
        assert rebuilt[label].dtype == np.int64
        np.testing.assert_array_equal(rebuilt[label], clicks)


@fast
@given(click_logs(timed=False), st.integers(1, 4))
def test_truncation_keeps_newest_clicks(log, max_len):
    sessions, items, _ = log
    X, y, groups = sessions_to_prefixes(sessions, items, max_len=max_len)
    wide, wide_y, wide_groups = sessions_to_prefixes(sessions, items, max_len=8)
    np.testing.assert_array_equal(X, wide[:, -max_len:])
    np.testing.assert_array_equal(y, wide_y)
    np.testing.assert_array_equal(groups, wide_groups)


@fast
@given(click_logs(timed=False), st.randoms(use_true_random=False))
def test_input_order_does_not_matter_with_distinct_times(log, random):
    sessions, items, _ = log
    times = np.asarray(random.sample(range(len(items)), len(items)), dtype=float)  # distinct
    X, y, groups = sessions_to_prefixes(sessions, items, times, max_len=4)
    shuffle = list(range(len(items)))
    random.shuffle(shuffle)
    X2, y2, groups2 = sessions_to_prefixes(
        sessions[shuffle], items[shuffle], times[shuffle], max_len=4
    )
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(groups, groups2)


@given(st.lists(st.integers(0, 5), max_size=6, unique=True), st.integers(1, 5))
def test_no_samples(session_labels, max_len):
    items = np.arange(len(session_labels))
    X, y, groups = sessions_to_prefixes(session_labels, items, max_len=max_len)  # 1-click sessions
    assert X.shape == (0, max_len) and X.dtype == np.int64
    assert y.shape == (0,) and groups.shape == (0,)


def test_examples():
    X, y, groups = sessions_to_prefixes(
        ["b", "a", "b", "a", "b"], [4, 1, 5, 2, 6], [3, 0, 2, 2, 2], max_len=2, padding_value=-9
    )
    # session b by time: 5 and 6 tie at t=2 and keep their input order, then 4 at t=3;
    # the targets 2 (t=2, input row 3), 6 (t=2, row 4) and 4 (t=3) give the row order
    np.testing.assert_array_equal(X, [[-9, 1], [-9, 5], [5, 6]])
    np.testing.assert_array_equal(y, [2, 6, 4])
    np.testing.assert_array_equal(groups, ["a", "b", "b"])
    assert groups.dtype.kind == "U"


def test_datetime_timestamps_match_numeric_ones():
    sessions = [1, 2, 1, 2, 1, 2]
    items = [0, 1, 2, 3, 4, 5]
    seconds = np.array([30, 5, 10, 70, 50, 6])
    dates = np.datetime64("2014-04-01T00:00:00") + seconds.astype("timedelta64[s]")
    expected = sessions_to_prefixes(sessions, items, seconds, max_len=3)
    for times in (dates, dates.astype("datetime64[ms]"), dates.astype("datetime64[ns]")):
        for got, want in zip(sessions_to_prefixes(sessions, items, times, max_len=3), expected):
            np.testing.assert_array_equal(got, want)


def test_timezone_aware_datetimes_order_by_the_instant():
    sessions = [1, 1, 1]
    naive = pd.to_datetime(["2014-04-01 10:00", "2014-04-01 09:30", "2014-04-01 09:45"])
    # the same instants in another zone, one of them written in a third: only the instant counts
    aware = pd.Series(naive).dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo").astype(object)
    aware[1] = aware[1].tz_convert("America/New_York")
    expected = sessions_to_prefixes(sessions, [1, 2, 3], naive.to_numpy(), max_len=2)
    for got, want in zip(sessions_to_prefixes(sessions, [1, 2, 3], aware, max_len=2), expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(expected[1], [3, 1])


def test_integer_ids_padded_with_a_non_number():
    for padding_value in (None, ""):
        X, y, _ = sessions_to_prefixes([0, 0, 0], [4, 5, 6], max_len=3, padding_value=padding_value)
        assert X.dtype == object and y.dtype == np.int64
        assert X.tolist() == [[padding_value, padding_value, 4], [padding_value, 4, 5]]


def test_float_ids_holding_integers_are_accepted():
    X, y, _ = sessions_to_prefixes([0, 0, 0], [1.0, 2.0, 3.0], max_len=2)
    assert X.dtype == np.int64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, [2, 3])


def test_empty_input():
    X, y, groups = sessions_to_prefixes([], [], max_len=4)
    assert X.shape == (0, 4) and y.shape == (0,) and groups.shape == (0,)


def test_doctests():
    assert doctest.testmod(skvaser.datasets._prefixes).failed == 0


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"item_ids": [1.0, np.nan, 2.0]}, ValueError, "item_ids contains NaN"),
        (
            {"item_ids": pd.array(["a", pd.NA, "c"], dtype="string")},
            ValueError,
            "item_ids contains missing values \\(<NA>\\)",
        ),
        ({"session_ids": pd.array([0, pd.NA, 1], dtype="Int64")}, ValueError, "on 1 click "),
        ({"item_ids": [1.0, 2.5, 2.0]}, ValueError, "non-integer"),
        ({"item_ids": [1, -2, 2]}, ValueError, "negative"),
        ({"item_ids": [1, -1, 2]}, ValueError, "negative"),  # the padding value is no item
        (
            {"item_ids": np.array(["a", 2, "c"], dtype=object)},
            TypeError,
            "mixed types, such as 'a' \\(str\\) and 2",
        ),
        ({"item_ids": [True, False, True]}, TypeError, "got dtype bool"),
        ({"item_ids": [7, "7", "B"]}, TypeError, "mixed types, such as 7 \\(int\\) and '7'"),
        ({"item_ids": [[1, 2, 3]]}, ValueError, "1-D"),
        ({"item_ids": [1, 2]}, ValueError, "same length"),
        ({"session_ids": [[0, 0, 1]]}, ValueError, "same length"),
        ({"session_ids": [0.0, np.nan, 1.0]}, ValueError, "session_ids are missing .* on 1 click "),
        ({"session_ids": ["s", None, "t"]}, ValueError, "on 1 click .first at position 1"),
        ({"timestamps": [0.0, np.nan, 1.0]}, ValueError, "NaN"),
        ({"timestamps": [0.0, np.inf, 1.0]}, ValueError, "infinite"),
        ({"timestamps": [0, 1]}, ValueError, "one entry per click"),
        ({"timestamps": [[0, 1, 2]]}, ValueError, "one entry per click"),
        ({"timestamps": ["09:00", "09:01", "09:02"]}, TypeError, "numbers or datetimes"),
        (
            {"timestamps": np.array(["2014-04-01", "NaT", "2014-04-02"], dtype="datetime64[s]")},
            ValueError,
            "NaT",
        ),
        ({"max_len": 0}, ValueError, "max_len"),
        ({"max_len": -3}, ValueError, "max_len"),
        ({"max_len": 2.0}, ValueError, "max_len"),
        ({"max_len": True}, ValueError, "max_len"),
        ({"padding_value": 0}, ValueError, "padding_value must be negative"),
        ({"padding_value": 3}, ValueError, "padding_value must be negative"),
        ({"padding_value": -1.0}, TypeError, "padding_value must be an integer"),
    ],
)
def test_bad_input(kwargs, error, match):
    arguments = {"session_ids": [0, 0, 1], "item_ids": [1, 2, 3], "timestamps": None}
    arguments.update(kwargs)
    session_ids, item_ids = arguments.pop("session_ids"), arguments.pop("item_ids")
    with pytest.raises(error, match=match):
        sessions_to_prefixes(session_ids, item_ids, **arguments)


def test_prefixes_to_sessions_bad_input():
    X, y, groups = sessions_to_prefixes([0, 0, 1, 1], [1, 2, 3, 4], max_len=2)
    with pytest.raises(ValueError, match="same number of rows"):
        prefixes_to_sessions(X, y[:1], groups)
    with pytest.raises(ValueError, match="2-D"):
        prefixes_to_sessions(X[:, -1], y, groups)
    with pytest.raises(ValueError, match="negative"):
        prefixes_to_sessions(X, y, groups, padding_value=-2)
