"""Sessions from user logs: the gap rule, the event filter, its properties, and real logs."""

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from skvaser.datasets import load_click_log, sessionize


def test_a_pause_longer_than_the_gap_starts_a_session():
    users = np.array([1, 1, 1, 1, 2, 2])
    minutes = np.array([0, 30, 61, 62, 0, 31])  # 30 min is still the same session
    sessions, items, times, report = sessionize(users, np.arange(6), minutes * 60)
    assert sessions.tolist() == [0, 0, 3, 3, 1, 2]  # numbered by first click, ties by user
    np.testing.assert_array_equal(items, np.arange(6))
    np.testing.assert_array_equal(times, minutes * 60)
    assert str(report[0]) == (
        "sessionize: sessions cut at pauses over 30 min: clicks 6 -> 6, sessions 2 -> 4, "
        "items 6 -> 6"
    )


def test_sessions_starting_together_are_numbered_by_their_users_first_appearance():
    """Many ties among few start times: the numbering is the definition's, whatever sort
    NumPy would pick for an unstable order."""
    rng = np.random.default_rng(0)
    users = rng.permutation(200)  # one click each: input position = first appearance
    times = rng.integers(0, 3, 200) * 10_000
    sessions, *_ = sessionize(users, np.arange(200), times)
    expected = np.empty(200, dtype=np.int64)
    expected[sorted(range(200), key=lambda click: (times[click], click))] = np.arange(200)
    np.testing.assert_array_equal(sessions, expected)


def test_unsorted_input_keeps_its_order():
    users = ["b", "a", "b", "a"]
    times = [5000, 100, 0, 50]
    sessions, items, out_times, _ = sessionize(users, [9, 8, 7, 6], times)
    assert sessions.tolist() == [2, 1, 0, 1]
    assert items.tolist() == [9, 8, 7, 6] and out_times.tolist() == times


@pytest.mark.parametrize(
    "times, kwargs",
    [
        (np.array([0, 60_000, 4_000_000]), {"time_unit": "ms"}),
        (np.array([0, 60, 4000]) * 10**9, {"time_unit": "ns"}),
        (pd.to_datetime([0, 60, 4000], unit="s").to_numpy(), {}),
        (pd.to_datetime([0, 60, 4000], unit="s").tz_localize("Asia/Tokyo"), {}),
        (np.array([0.0, 60.0, 4000.0]), {"gap": datetime.timedelta(minutes=30)}),
        (np.array([0, 60, 4000]), {"gap": pd.Timedelta("30min")}),
        (np.array([0, 60, 4000]), {"gap": np.timedelta64(30, "m")}),
    ],
)
def test_time_units_datetimes_and_gap_types(times, kwargs):
    sessions, *_ = sessionize([3, 3, 3], [1, 2, 3], times, **kwargs)
    assert sessions.tolist() == [0, 0, 1]


def test_gap_parameter():
    sessions, *_ = sessionize([1, 1, 1], [1, 2, 3], [0, 100, 300], gap=150)
    assert sessions.tolist() == [0, 0, 1]
    *_, report = sessionize([1, 1], [1, 2], [0, 10], gap=7200)
    assert report[0].description == "sessions cut at pauses over 2 h"


def test_event_filter():
    events = ["view", "addtocart", "view", "transaction", "view"]
    sessions, items, times, report = sessionize(
        [1, 1, 1, 1, 2],
        [10, 10, 11, 11, 12],
        [0, 1, 2, 3, 4],
        event_types=events,
        keep_events="view",
    )
    assert sessions.tolist() == [0, 0, 1] and items.tolist() == [10, 11, 12]
    assert times.tolist() == [0, 2, 4]
    assert report[0].description == "events other than ['view']"
    assert report[0].n_clicks_dropped == 2
    sessions, items, *_ = sessionize(
        [1] * 5, range(5), range(5), event_types=events, keep_events=["view", "addtocart"]
    )
    assert items.tolist() == [0, 1, 2, 4]
    for kept in ({"view", "addtocart"}, frozenset({"addtocart", "view"})):  # as allowed_items
        _, items, _, report = sessionize(
            [1] * 5, range(5), range(5), event_types=events, keep_events=kept
        )
        assert items.tolist() == [0, 1, 2, 4]
        assert report[0].description == "events other than ['addtocart', 'view']"


def test_bad_input_is_named():
    with pytest.raises(
        ValueError,
        match=r"no click has an event type in \['click'\]: the event "
        r"types are 'addtocart', 'view'\.",
    ):
        sessionize([1, 1], [1, 2], [0, 1], event_types=["view", "addtocart"], keep_events="click")
    with pytest.raises(ValueError, match="types are '0', '1', '10', .* '7' and 2 more"):
        sessionize(range(12), range(12), range(12), event_types=range(12), keep_events="x")
    with pytest.raises(ValueError, match="pass event_types .* together"):
        sessionize([1], [1], [0], keep_events="view")
    with pytest.raises(ValueError, match="same length"):
        sessionize([1, 1], [1], [0, 1])
    with pytest.raises(ValueError, match="user_ids are missing on 1 clicks"):
        sessionize(np.array(["a", None], dtype=object), [1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"item_ids are missing \(None or NaN\) on 1 click "
                       r"\(first at position 1\); drop the clicks without an item first\."):
        sessionize([1, 1], np.array(["a", None], dtype=object), [0, 1])
    with pytest.raises(TypeError, match="timestamps must be numbers .* or datetimes"):
        sessionize([1, 1], [1, 2], ["2020-01-01", "2020-01-02"])
    with pytest.raises(InvalidParameterError, match="gap"):
        sessionize([1], [1], [0], gap=0)
    with pytest.raises(ValueError, match="gap must be a positive duration"):
        sessionize([1], [1], [0], gap=datetime.timedelta(0))


def test_empty_log():
    sessions, items, times, report = sessionize([], [], np.zeros(0))
    assert sessions.shape == (0,) and sessions.dtype == np.int64
    assert report[0].n_sessions_after == 0


def test_times_in_a_finer_unit_than_time_unit_are_named():
    milliseconds = 1_700_000_000_000 + 60_000 * np.arange(4)  # a click a minute, since 1970
    with pytest.warns(UserWarning, match="reach 53,870 years after 1970.*time_unit='ms'"):
        sessions, *_ = sessionize([1] * 4, [5, 6, 7, 8], milliseconds)
    assert sessions.tolist() == [0, 1, 2, 3]  # read as seconds: pauses of 16 hours
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sessions, *_ = sessionize([1] * 4, [5, 6, 7, 8], milliseconds, time_unit="ms")
    assert sessions.tolist() == [0, 0, 0, 0]


def test_times_in_a_coarser_unit_than_time_unit_are_named():
    seconds = 1_700_000_000 + 3_600 * np.arange(4)  # a click an hour, since 1970, in seconds
    with pytest.warns(UserWarning, match="read in time_unit='ms', all lie in 1970; read in "
                      "'s' they start 2023.*time_unit='s'.*sessions merge"):
        sessions, *_ = sessionize([1] * 4, [5, 6, 7, 8], seconds, time_unit="ms")
    assert sessions.tolist() == [0, 0, 0, 0]  # read as ms: pauses of 3.6 seconds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sessions, *_ = sessionize([1] * 4, [5, 6, 7, 8], seconds)
        assert sessions.tolist() == [0, 1, 2, 3]
        # relative times from 0, in ms: they lie in 1970 and are no times since 1970
        sessionize([1] * 4, [5, 6, 7, 8], 3_600_000 * np.arange(4), time_unit="ms")
        sessionize([1] * 4, [5, 6, 7, 8], 1_000 * seconds, time_unit="ms")


_CLICKS = st.lists(
    st.tuples(st.sampled_from(["u", "v", 3, 4]), st.integers(0, 9), st.integers(0, 20_000)),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(clicks=_CLICKS, gap=st.integers(1, 5000))
def test_sessions_follow_the_gap_rule_and_keep_every_click(clicks, gap):
    users = np.array([c[0] for c in clicks], dtype=object)
    items = np.array([c[1] for c in clicks], dtype=np.int64)
    times = np.array([c[2] for c in clicks], dtype=np.int64)
    sessions, out_items, out_times, report = sessionize(users, items, times, gap=gap)
    # No click lost, duplicated or moved.
    np.testing.assert_array_equal(out_items, items)
    np.testing.assert_array_equal(out_times, times)
    assert sorted(set(sessions.tolist())) == list(range(report[-1].n_sessions_after))
    frame = pd.DataFrame({"user": users.astype(str), "session": sessions, "time": times})
    frame = frame.sort_values(["user", "time"], kind="stable")
    assert (frame.groupby("session").user.nunique() == 1).all()  # one user per session
    pause = frame.groupby("user").time.diff()
    same = frame.session.eq(frame.session.shift()) & frame.user.eq(frame.user.shift())
    assert (pause[same] <= gap).all()  # no session spans a longer pause
    assert (pause[~same].dropna() > gap).all()  # and every shorter pause stays inside one
    firsts = frame.groupby("session").time.min().sort_index()
    assert firsts.is_monotonic_increasing  # numbered in the order of their first clicks


def test_retailrocket_sample(shared_data):
    log = load_click_log(
        shared_data / "raw" / "retailrocket-sample.csv",
        session_col="session_id",
        user_col="user_id",
    )
    sessions, _, _, report = sessionize(log.user_ids, log.item_ids, log.timestamps)
    assert (report[0].n_sessions_before, report[0].n_sessions_after) == (2496, 2962)
    # The file's own sessions (SR-GTM's) never cut inside a 30-minute window: each of ours
    # lies inside one of theirs.
    theirs = pd.DataFrame({"ours": sessions, "theirs": log.session_ids})
    assert theirs.groupby("ours").theirs.nunique().max() == 1


def test_otto_sample_in_milliseconds(shared_data):
    log = load_click_log(shared_data / "otto_sample.csv.gz")  # OTTO's "sessions" are users
    millis = np.round(log.timestamps * 1000).astype(np.int64)
    sessions, _, times, report = sessionize(log.session_ids, log.item_ids, millis, time_unit="ms")
    assert (report[0].n_sessions_before, report[0].n_sessions_after) == (20, 144)
    np.testing.assert_array_equal(times, millis)
    seconds, *_ = sessionize(log.session_ids, log.item_ids, log.timestamps)
    np.testing.assert_array_equal(seconds, sessions)
