"""The papers' preprocessing: filters, temporal split, recent fraction, unseen test items."""

import logging
import warnings
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from skvaser.datasets import (
    PreprocessingStep,
    drop_unseen_items,
    filter_sessions,
    keep_recent_fraction,
    load_diginetica_views,
    load_yoochoose_clicks,
    make_sessions,
    preprocess,
    temporal_split,
)

DAY = 86_400


def _reference(sessions, items, times, *, test_days, min_support=5):
    """SR-GNN's preprocessing written plainly with dicts: sorted (session, item, time) rows."""
    clicks = defaultdict(list)
    for s, i, t in zip(sessions.tolist(), items.tolist(), times.tolist()):
        clicks[s].append((s, i, t))
    clicks = {s: rows for s, rows in clicks.items() if len(rows) > 1}
    support = Counter(i for rows in clicks.values() for _, i, _ in rows)
    clicks = {s: [r for r in rows if support[r[1]] >= min_support] for s, rows in clicks.items()}
    clicks = {s: rows for s, rows in clicks.items() if len(rows) >= 2}
    end = {s: max(t for _, _, t in rows) for s, rows in clicks.items()}
    split = max(end.values()) - test_days * DAY
    train = [r for s, rows in clicks.items() if end[s] <= split for r in rows]
    known = {i for _, i, _ in train}
    test = {s: [r for r in rows if r[1] in known] for s, rows in clicks.items() if end[s] > split}
    test = [r for rows in test.values() if len(rows) >= 2 for r in rows]
    return sorted(train), sorted(test)


def _rows(part):
    return sorted(zip(*(a.tolist() for a in part)))


def _sessions_of(part):
    return set(np.unique(part[0]).tolist())


# --------------------------------------------------------------------------- filter_sessions
def test_filter_sessions_in_sr_gnn_order():
    # Item 9 has 4 clicks, one of them in the one-click session 4: after that session goes,
    # 9 has 3 clicks and is dropped, which leaves session 3 with one click.
    sessions = np.array([1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 5])
    items = np.array([7, 8, 9, 7, 8, 9, 7, 9, 9, 7, 8, 8, 8])
    times = np.arange(13)
    s, i, t, report = filter_sessions(sessions, items, times, min_item_support=4)
    np.testing.assert_array_equal(s, [1, 1, 2, 2, 5, 5, 5, 5])
    np.testing.assert_array_equal(i, [7, 8, 7, 8, 7, 8, 8, 8])
    np.testing.assert_array_equal(t, [0, 1, 3, 4, 9, 10, 11, 12])
    assert [step.n_clicks_dropped for step in report] == [1, 3, 1]
    assert [step.n_sessions_dropped for step in report] == [1, 0, 1]
    assert [step.n_items_dropped for step in report] == [0, 1, 0]
    assert all(step.name == "filter_sessions" for step in report)
    assert report[1].description == "items with fewer than 4 clicks"


def test_filter_sessions_is_one_pass():
    # Dropping the session left short takes item 8 below the support: it stays, as in the papers.
    sessions = np.array([1, 1, 2, 2, 3, 3])
    items = np.array([8, 8, 8, 6, 5, 5])
    s, i, _, report = filter_sessions(sessions, items, np.arange(6), min_item_support=2)
    np.testing.assert_array_equal(s, [1, 1, 3, 3])
    np.testing.assert_array_equal(i, [8, 8, 5, 5])


def test_filter_sessions_parameters():
    sessions = np.array([1, 1, 1, 2, 2])
    items = np.array([3, 3, 4, 3, 4])
    s, i, _, report = filter_sessions(
        sessions, items, np.arange(5), min_session_length=3, min_item_support=1
    )
    np.testing.assert_array_equal(s, [1, 1, 1])
    assert report[0].n_sessions_dropped == 1
    assert "shorter than 3 clicks" in report[0].description


def test_reports_are_logged_and_printable(caplog):
    with caplog.at_level(logging.INFO, logger="skvaser.datasets"):
        *_, report = filter_sessions([1, 1, 2], [5, 5, 5], [0, 1, 2], min_item_support=1)
    assert [record.getMessage() for record in caplog.records] == [str(step) for step in report]
    assert str(report[0]) == (
        "filter_sessions: sessions shorter than 2 clicks: clicks 3 -> 2, sessions 2 -> 1, "
        "items 1 -> 1"
    )
    assert isinstance(report[0], PreprocessingStep)


# --------------------------------------------------------------------------- temporal_split
def test_temporal_split_by_last_click():
    end = 10 * DAY
    sessions = np.array([1, 1, 2, 2, 3, 3])
    items = np.array([4, 5, 4, 6, 5, 6])
    # Session 1 ends exactly at the boundary (train); session 2 straddles it (test: its last
    # click is in the last day); session 3 is in the last day.
    times = np.array([end - 2 * DAY, end - DAY, end - DAY - 5, end - DAY + 5, end - 60, end])
    train, test, report = temporal_split(sessions, items, times, test_days=1)
    np.testing.assert_array_equal(train[0], [1, 1])
    np.testing.assert_array_equal(test[0], [2, 2, 3, 3])
    np.testing.assert_array_equal(test[2], times[2:])
    assert [step.n_clicks_after for step in report] == [2, 4]
    assert report[1].description.endswith("(the last 1 day)")
    assert "1970-01-10 00:00:00 UTC" in report[0].description


def test_temporal_split_with_times_before_1970():
    times = np.array([-3, -2, -1, 0]) * DAY - 10 * DAY
    train, test, _ = temporal_split([1, 1, 2, 2], [4, 5, 4, 6], times, test_days=1.5)
    np.testing.assert_array_equal(train[0], [1, 1])
    np.testing.assert_array_equal(test[0], [2, 2])


def test_a_split_of_seconds_read_as_milliseconds_names_seconds():
    sessions, times = np.repeat(np.arange(1000), 2), np.arange(2000) * 60
    with pytest.warns(UserWarning, match="not in 'ms', pass their unit: time_unit='s';"):
        temporal_split(sessions, np.tile([1, 2], 1000), times, time_unit="ms")


def test_keep_recent_fraction_that_keeps_no_session_is_refused():
    with pytest.raises(ValueError, match=r"fraction=0.25 of 3 sessions keeps none.*1/3"):
        keep_recent_fraction([1, 1, 2, 2, 3, 3], [4, 5, 4, 6, 5, 6], np.arange(6), fraction=0.25)


def test_temporal_split_days():
    times = np.arange(10) * DAY
    train, test, _ = temporal_split(np.arange(10), np.zeros(10, int), times, test_days=7)
    np.testing.assert_array_equal(test[0], np.arange(3, 10))  # days 3..9: the last 7 days
    train, test, _ = temporal_split(np.arange(10), np.zeros(10, int), times, test_days=0.5)
    np.testing.assert_array_equal(test[0], [9])


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_temporal_split_time_units(unit):
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    times = np.arange(10) * DAY * scale
    _, test, report = temporal_split(np.arange(10), np.zeros(10, int), times, time_unit=unit)
    np.testing.assert_array_equal(test[0], [9])
    np.testing.assert_array_equal(test[2], times[9:])  # times come back as given
    assert "1970-01-09 00:00:00 UTC" in report[0].description


@pytest.mark.parametrize(
    "times",
    [
        np.arange(10).astype("datetime64[D]"),
        pd.Series(pd.to_datetime(np.arange(10), unit="D")).dt.tz_localize("America/New_York"),
        pd.to_datetime(np.arange(10), unit="D").tz_localize("UTC").astype(object),
    ],
    ids=["datetime64", "tz-aware series", "tz-aware objects"],
)
def test_temporal_split_datetimes(times):
    train, test, _ = temporal_split(np.arange(10), np.zeros(10, int), times, test_days=2)
    np.testing.assert_array_equal(test[0], [8, 9])
    data = preprocess(
        np.repeat(np.arange(10), 2),
        np.zeros(20, int),
        np.repeat(times, 2),
        test_days=2,
        min_item_support=1,
    )
    assert len(np.unique(data.test[0])) == 2


def test_a_lopsided_split_warns_and_names_time_unit():
    sessions, items, seconds = make_sessions(500, 100, random_state=0)
    millis = (seconds * 1000).astype(np.int64)
    with pytest.warns(
        UserWarning,
        match=r"the test set holds 1 of 500 sessions \(less than "
        r"1 %\).*time_unit='ms'",
    ) as caught:
        temporal_split(sessions, items, millis, test_days=1)
    assert caught[0].filename == __file__  # said at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        temporal_split(sessions, items, millis, test_days=1, time_unit="ms")
        preprocess(sessions, items, millis, test_days=1, time_unit="ms")
    with pytest.warns(UserWarning, match="training set holds 0 of 500"):
        temporal_split(sessions, items, seconds, test_days=10_000)


@settings(max_examples=50, deadline=None)
@given(
    clicks=st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 5), st.integers(0, 5 * DAY)), max_size=40
    ),
    test_days=st.floats(0.1, 3),
)
def test_temporal_split_partitions_sessions_in_time(clicks, test_days):
    sessions, items, times = (
        np.array(column, dtype=np.int64) for column in zip(*clicks or [(0, 0, 0)])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a side left empty is said: not here
        train, test, _ = temporal_split(sessions, items, times, test_days=test_days)
    assert sorted(_rows(train) + _rows(test)) == _rows((sessions, items, times))
    assert not _sessions_of(train) & _sessions_of(test)
    if len(train[0]) and len(test[0]):
        train_ends = [train[2][train[0] == s].max() for s in _sessions_of(train)]
        test_ends = [test[2][test[0] == s].max() for s in _sessions_of(test)]
        assert max(train_ends) < min(test_ends)
        assert max(train_ends) <= times.max() - test_days * DAY < min(test_ends)


# --------------------------------------------------------------------------- keep_recent_fraction
def test_keep_recent_fraction():
    sessions = np.array([5, 5, 3, 3, 9, 9, 1, 1])
    times = np.array([0, 10, 1, 2, 5, 30, 20, 21])  # ends: 5 -> 10, 3 -> 2, 9 -> 30, 1 -> 21
    s, _, _, report = keep_recent_fraction(sessions, np.zeros(8, int), times, fraction=0.5)
    np.testing.assert_array_equal(s, [9, 9, 1, 1])
    assert report[0].n_sessions_after == 2 and report[0].n_clicks_dropped == 4
    assert report[0].description == "the most recent 1/2 of the sessions (2)"
    with pytest.raises(ValueError, match="keeps none"):  # floor(4 / 64) sessions, as SR-GNN
        keep_recent_fraction(sessions, np.zeros(8, int), times, fraction=1 / 64)
    s, *_ = keep_recent_fraction(sessions, np.zeros(8, int), times, fraction=1.0)
    assert len(s) == 8


def test_keep_recent_fraction_ties_keep_the_later_rows():
    sessions = np.array([2, 1, 3])
    times = np.array([7, 7, 7])
    s, *_ = keep_recent_fraction(sessions, [0, 0, 0], times, fraction=2 / 3)
    np.testing.assert_array_equal(s, [1, 3])


# --------------------------------------------------------------------------- drop_unseen_items
def test_drop_unseen_items():
    s, i, t, report = drop_unseen_items(
        np.array([1, 2, 2]), [7, 7, 7, 8, 8, 9], [1, 3, 2, 1, 9, 2], [0, 1, 2, 3, 4, 5]
    )
    np.testing.assert_array_equal(s, [7, 7])
    np.testing.assert_array_equal(i, [1, 2])
    np.testing.assert_array_equal(t, [0, 2])
    assert [step.n_clicks_dropped for step in report] == [2, 2]
    assert [step.n_sessions_dropped for step in report] == [0, 2]


# --------------------------------------------------------------------------- preprocess
def test_preprocess_chains_the_steps():
    sessions, items, times = make_sessions(3000, 400, random_state=0)
    data = preprocess(sessions, items, times, test_days=1, fraction=1 / 4)
    names = [step.name for step in data.report]
    assert names == ["filter_sessions"] * 3 + ["temporal_split"] * 2 + ["drop_unseen_items"] * 2 + [
        "keep_recent_fraction"
    ]
    train, test = data.train, data.test
    assert not _sessions_of(train) & _sessions_of(test)
    for part in (train, test):
        assert np.bincount(np.unique(part[0], return_inverse=True)[1]).min() >= 2
    whole = preprocess(sessions, items, times, test_days=1)
    assert set(np.unique(whole.test[1])) <= set(np.unique(whole.train[1]))
    assert _rows(data.test) == _rows(whole.test)  # test items checked against all training
    assert len(_sessions_of(data.train)) == len(_sessions_of(whole.train)) // 4
    assert data.report[-1].n_clicks_after == len(train[0])


def test_preprocess_empty_and_invalid_input():
    empty = np.zeros(0, dtype=np.int64)
    data = preprocess(empty, empty, empty.astype(float))
    assert all(len(a) == 0 for a in data.train + data.test)
    assert all(step.n_clicks_before == 0 for step in data.report)
    with pytest.raises(ValueError, match="same length"):
        preprocess([1, 1], [2, 3], [0])
    with pytest.raises(
        TypeError, match="timestamps must be numbers .* or datetimes.*pandas.to_datetime"
    ):
        temporal_split([1], [2], ["2014-04-01"])
    with pytest.raises(ValueError, match="NaT"):
        temporal_split([1, 1], [2, 3], np.array(["2014-04-01", "NaT"], dtype="datetime64[s]"))
    with pytest.raises(InvalidParameterError, match="time_unit"):
        preprocess([1], [2], [0], time_unit="days")
    with pytest.raises(ValueError, match="NaN"):
        filter_sessions([1, 1], [2, 3], [0.0, np.nan])
    with pytest.raises(InvalidParameterError, match="fraction"):
        preprocess([1], [2], [0], fraction=0)
    with pytest.raises(InvalidParameterError, match="test_days"):
        temporal_split([1], [2], [0], test_days=0)
    with pytest.raises(InvalidParameterError, match="min_item_support"):
        filter_sessions([1], [2], [0], min_item_support=0)


@pytest.mark.parametrize("step", [
    filter_sessions, temporal_split, keep_recent_fraction, preprocess,
    lambda *clicks: drop_unseen_items([5, 6, 7], *clicks),
])
@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_clicks_without_a_session_or_an_item_are_refused(step, missing):
    """Never merged into one session of "missing" ids, never a bare comparison error."""
    times = [0, 1, 2, 3, 4, 5]
    sessions = np.array(["s", "s", missing, "t", "t", missing], dtype=object)
    with pytest.raises(ValueError, match=r"session_ids are missing .* on 2 clicks \(first at "
                       r"position 2\); drop those clicks or give them a session\."):
        step(sessions, [5, 6, 7, 5, 6, 8], times)
    items = np.array(["x", "y", missing, "x", "y", "z"], dtype=object)
    with pytest.raises(ValueError, match=r"item_ids are missing .* on 1 click \(first at position "
                       r"2\); drop the clicks without an item\."):
        step([1, 1, 1, 2, 2, 2], items, times)


@pytest.mark.parametrize("step", [filter_sessions, temporal_split, preprocess])
def test_ids_of_mixed_types_are_named(step):
    """Not NumPy's bare "'<' not supported" from sorting them: both types, and the fix."""
    times = [0, 1, 2, 3]
    with pytest.raises(TypeError, match=r"item_ids holds item ids of mixed types, such as 'a' "
                       r"\(str\) and 7 \(int\).*astype\(str\)"):
        step([1, 1, 2, 2], np.array(["a", 7, "a", 7], dtype=object), times)
    with pytest.raises(TypeError, match=r"session_ids holds session ids of mixed types, such "
                       r"as 1 \(int\) and 'x' \(str\)"):
        step(np.array([1, 1, "x", "x"], dtype=object), [5, 6, 5, 6], times)


def test_string_ids_are_fine():
    sessions = np.array(["a", "a", "b", "b"])
    items = np.array(["x", "y", "x", "y"])
    s, i, _, _ = filter_sessions(sessions, items, [0, 1, 2, 3], min_item_support=2)
    assert s.tolist() == ["a", "a", "b", "b"] and i.tolist() == ["x", "y", "x", "y"]


# --------------------------------------------------------------------------- real data
def test_raw_yoochoose_sample(shared_data):
    log = load_yoochoose_clicks(shared_data / "raw" / "yoochoose-clicks-sample.dat")
    data = preprocess(log.session_ids, log.item_ids, log.timestamps, test_days=1)
    train, test = _reference(log.session_ids, log.item_ids, log.timestamps, test_days=1)
    assert _rows(data.train) == train and _rows(data.test) == test
    assert [(step.n_clicks_before, step.n_clicks_after) for step in data.report] == [
        (1913, 1883),
        (1883, 657),
        (657, 591),
        (591, 515),
        (591, 76),
        (76, 76),
        (76, 76),
    ]


def test_raw_diginetica_sample(shared_data):
    log = load_diginetica_views(shared_data / "raw" / "train-item-views-sample.csv")
    data = preprocess(log.session_ids, log.item_ids, log.timestamps, test_days=7)
    train, test = _reference(log.session_ids, log.item_ids, log.timestamps, test_days=7)
    assert _rows(data.train) == train and _rows(data.test) == test
    assert data.report[-2].n_clicks_dropped > 0  # some test items were never seen in training
