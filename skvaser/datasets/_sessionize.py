"""Sessions from user logs: each user's clicks cut at inactivity gaps.

Shops log clicks by user (RetailRocket's ``events.csv``: ``timestamp, visitorid, event, itemid``;
OTTO's sessions span four weeks). Session-based recommenders need sessions: the literature
starts a new one after 30 minutes without a click (the usual web-analytics rule).
"""

import datetime
from numbers import Real

import numpy as np
import pandas as pd

from .._sklearn import Interval, validate_params
from .._validation import check_not_missing
from .._warnings import warn_at_caller
from ._preprocessing import (
    _TIME_UNIT,
    _UNITS_PER_SECOND,
    _adjacent_unit,
    _step,
    _time_order,
)

__all__ = ["sessionize"]

_DEFAULT_GAP = 30 * 60
_SECONDS_PER_YEAR = 365.25 * 24 * 3600
#: Times read as later than this many years after 1970 are taken for a wrong ``time_unit``.
_LATEST = 1000
#: Times that lie in 1970 read in ``time_unit`` but all after this many years of it read in
#: the next coarser unit are taken for times in that unit.
_EARLIEST_COARSER = 20
#: Event types named in the message of a filter that keeps nothing.
_LISTED = 10


def _distinct(values):
    """Number of distinct values (any hashable type)."""
    return len(pd.unique(values)) if len(values) else 0


@validate_params(
    {
        "user_ids": ["array-like"],
        "item_ids": ["array-like"],
        "timestamps": ["array-like"],
        "gap": [datetime.timedelta, np.timedelta64, Interval(Real, 0, None, closed="neither")],
        "time_unit": _TIME_UNIT,
        "event_types": ["array-like", None],
        "keep_events": [str, list, tuple, set, frozenset, None],
    },
    prefer_skip_nested_validation=True,
)
def sessionize(
    user_ids,
    item_ids,
    timestamps,
    *,
    gap=_DEFAULT_GAP,
    time_unit="s",
    event_types=None,
    keep_events=None,
):
    """Cut each user's clicks into sessions: a new session after ``gap`` without a click.

    The clicks of a user, in time order (ties keep the input order), stay in one session while
    each follows the previous one by at most ``gap``; a longer pause starts a new session.
    With ``keep_events``, only the clicks of those event types are kept, before the gaps are
    measured (RetailRocket: ``keep_events="view"``).

    Parameters
    ----------
    user_ids : array-like of shape (n_clicks,)
        User of each click: integers, strings, any hashable values.
    item_ids : array-like of shape (n_clicks,)
        Item of each click; passed through.
    timestamps : array-like of shape (n_clicks,)
        Click times: numbers in ``time_unit``, ``datetime64`` values or timezone-aware
        datetimes.
    gap : float or timedelta, default=1800
        Longest pause inside a session, in seconds (or a :class:`~datetime.timedelta`,
        :class:`numpy.timedelta64`, :class:`pandas.Timedelta`). 30 minutes by default.
    time_unit : {"s", "ms", "us", "ns"}, default="s"
        Unit of numeric ``timestamps``; ignored for datetimes. A UserWarning names the unit
        that numeric times since 1970 seem to be in when read in this one they lie over 1,000
        years after 1970, or all in 1970 while in the next coarser unit they start 1990 or
        later.
    event_types : array-like of shape (n_clicks,), default=None
        Event type of each click (``"view"``, ``"addtocart"``, ...), for ``keep_events``.
    keep_events : str, or list, tuple or set of str, default=None
        Event types to keep; None keeps every click.

    Returns
    -------
    session_ids : ndarray of int64, shape (n_kept,)
        Session of each kept click, numbered ``0..n_sessions-1`` in the order of the sessions'
        first clicks (sessions that start together: in the order their users first appear).
    item_ids, timestamps : ndarray of shape (n_kept,)
        The kept clicks' items and times, as given.
    report : list of PreprocessingStep
        The event filter's counts (when ``keep_events`` is given; sessions are users there),
        then the cut's: users before, sessions after.

    Raises
    ------
    ValueError
        If the arrays differ in length, a user id or a time is missing, ``keep_events`` comes
        without ``event_types`` (or the reverse), or no click has one of ``keep_events``.

    See Also
    --------
    load_click_log : Reads user logs (``session_col=None, user_col=..., event_col=...``).
    preprocess : The papers' filters and temporal split, to run on the sessions.

    Examples
    --------
    >>> from skvaser.datasets import sessionize
    >>> users = ["ann", "ann", "ann", "bob", "ann"]
    >>> minutes = [0, 10, 50, 55, 60]
    >>> sessions, items, times, report = sessionize(
    ...     users, [1, 2, 3, 4, 5], [60 * m for m in minutes])
    >>> sessions
    array([0, 0, 1, 2, 1])
    >>> print(report[0])  # doctest: +NORMALIZE_WHITESPACE
    sessionize: sessions cut at pauses over 30 min: clicks 5 -> 5, sessions 2 -> 3,
    items 5 -> 5

    Views only, from a log whose times are in milliseconds:

    >>> sessions, items, times, report = sessionize(
    ...     [7, 7, 7], [1, 2, 3], [0, 60_000, 120_000], time_unit="ms",
    ...     event_types=["view", "addtocart", "view"], keep_events="view")
    >>> sessions, items
    (array([0, 0]), array([1, 3]))
    """
    arrays = [np.asarray(a) for a in (user_ids, item_ids, timestamps)]
    names = ["user_ids", "item_ids", "timestamps"]
    if (event_types is None) != (keep_events is None):
        raise ValueError(
            "pass event_types (each click's type) and keep_events (the types to keep) together."
        )
    if event_types is not None:
        arrays.append(np.asarray(event_types))
        names.append("event_types")
    shapes = [a.shape for a in arrays]
    if any(len(shape) != 1 for shape in shapes) or len(set(shapes)) != 1:
        raise ValueError(
            f"{', '.join(names)} must be 1-D arrays of the same length; got shapes {shapes}."
        )
    users, items, times = arrays[:3]
    report = []
    if event_types is not None:
        wanted = [keep_events] if isinstance(keep_events, str) else list(keep_events)
        if isinstance(keep_events, set | frozenset):
            wanted.sort(key=str)  # the report names them in one order
        keep = np.isin(arrays[3], np.asarray(wanted, dtype=object))
        if not keep.any():
            present = sorted(map(str, pd.unique(arrays[3])))
            listed = ", ".join(map(repr, present[:_LISTED]))
            more = f" and {len(present) - _LISTED:,} more" if len(present) > _LISTED else ""
            raise ValueError(
                f"no click has an event type in {wanted}: the event types are {listed}{more}."
            )
        before = (len(users), _distinct(users), _distinct(items))
        users, items, times = users[keep], items[keep], times[keep]
        after = (len(users), _distinct(users), _distinct(items))
        report.append(_step("sessionize", f"events other than {wanted}", before, after))

    order_times, per_second = _time_order(times, time_unit)
    _warn_unlikely_unit(times, time_unit)
    user_code, _ = pd.factorize(users, use_na_sentinel=True)
    if (user_code < 0).any():
        raise ValueError(
            f"user_ids are missing on {int((user_code < 0).sum()):,} clicks (first at "
            f"position {int(np.argmax(user_code < 0))}); drop those clicks first."
        )
    check_not_missing(items, "item_ids", "drop the clicks without an item first.")
    if isinstance(gap, (datetime.timedelta, np.timedelta64)):  # timedelta64 is an Integral
        seconds = pd.Timedelta(gap).total_seconds()
    else:
        seconds = float(gap)
    if seconds <= 0:
        raise ValueError(f"gap must be a positive duration; got {gap!r}.")
    order = np.lexsort((order_times, user_code))  # stable: ties keep the input order
    sorted_times, sorted_users = order_times[order], user_code[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (sorted_users[1:] != sorted_users[:-1]) | (
        np.diff(sorted_times) > seconds * per_second
    )
    session_of_sorted = np.cumsum(starts) - 1
    # Number the sessions in the order of their first clicks (ties: the user order above).
    first_times = sorted_times[starts]
    rank = np.empty(len(first_times), dtype=np.int64)
    rank[np.argsort(first_times, kind="stable")] = np.arange(len(first_times))
    session_ids = np.empty(len(order), dtype=np.int64)
    session_ids[order] = rank[session_of_sorted]

    n_items = _distinct(items)
    description = f"sessions cut at pauses over {_duration(seconds)}"
    before = (len(users), int(user_code.max(initial=-1)) + 1, n_items)
    after = (len(users), len(first_times), n_items)
    report.append(_step("sessionize", description, before, after))
    return session_ids, items, times, report


def _warn_unlikely_unit(times, time_unit):
    """Warn when numeric ``times`` look like times since 1970 in another unit than
    ``time_unit``: read in it, they reach beyond ``_LATEST`` years after 1970 (a finer unit),
    or they all lie in 1970 while, read in the next coarser unit, none is earlier than
    ``_EARLIEST_COARSER`` years after it (a coarser unit; relative times from 0 are not)."""
    if times.dtype.kind not in "iuf" or not len(times):
        return
    finer, coarser = _adjacent_unit(time_unit, 1), _adjacent_unit(time_unit, -1)
    years = float(times.max()) / _UNITS_PER_SECOND[time_unit] / _SECONDS_PER_YEAR
    if years > _LATEST and finer is not None:
        warn_at_caller(
            f"sessionize: the timestamps, read in time_unit={time_unit!r}, reach {years:,.0f} "
            f"years after 1970. If they are in a finer unit, pass it (time_unit={finer!r}, "
            "...): read in too coarse a unit, every pause looks longer than gap."
        )
    if years < 1 and coarser is not None:
        earliest = float(times.min()) / _UNITS_PER_SECOND[coarser] / _SECONDS_PER_YEAR
        if earliest >= _EARLIEST_COARSER:
            warn_at_caller(
                f"sessionize: the timestamps, read in time_unit={time_unit!r}, all lie in "
                f"1970; read in {coarser!r} they start {1970 + int(earliest)}. If they are in "
                f"a coarser unit, pass it (time_unit={coarser!r}, ...): read in too fine a "
                "unit, every pause looks shorter than gap and sessions merge."
            )


def _duration(seconds):
    """``seconds`` for people: "30 min", "2 h", "45 s"."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
