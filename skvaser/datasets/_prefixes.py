"""The data contract: sessions expanded into (prefix -> next click) samples."""

import numbers

import numpy as np
import pandas as pd

from .._validation import check_item_ids, check_not_missing, check_padding_value, is_padding
from ._preprocessing import _time_order

__all__ = ["sessions_to_prefixes", "sessions_to_queries", "prefixes_to_sessions"]


def _check_timestamps(timestamps, n_clicks):
    """Numbers that order the clicks' ``timestamps`` (numbers or datetimes, see
    :func:`~skvaser.datasets._preprocessing._time_order`)."""
    times = np.asarray(timestamps)
    if times.ndim != 1 or len(times) != n_clicks:
        raise ValueError(
            f"timestamps must be 1-D with one entry per click ({n_clicks}); "
            f"got shape {times.shape}."
        )
    return _time_order(times, time_unit=None)[0]


def sessions_to_prefixes(session_ids, item_ids, timestamps=None, *, max_len=30, padding_value=-1):
    """Expand click sessions into one sample per next click.

    A session ``[x1, ..., xN]`` gives the ``N - 1`` samples ``[x1..xt] -> x(t+1)``,
    the autoregressive sub-session protocol of NARM, STAMP, SR-GNN and VASER.

    Parameters
    ----------
    session_ids : array-like of shape (n_clicks,)
        Session of each click (any hashable values).
    item_ids : array-like of shape (n_clicks,)
        Clicked item: non-negative integers, or strings, bytes or other sortable ids of one
        type (kept as they are, as a classifier keeps its string labels).
    timestamps : array-like of shape (n_clicks,), default=None
        Time of each click: numbers, ``datetime64`` values or datetimes (timezone-aware or
        not). Clicks are ordered by time within their session (stable for ties). ``None`` keeps
        the input order.
    max_len : int, default=30
        Width of a prefix; longer prefixes keep their newest ``max_len`` clicks.
    padding_value : int or object, default=-1
        Value that left-pads short prefixes, never an item: a negative integer, or any other
        value that is not a number (None or ``""``, for instance).

    Returns
    -------
    X : ndarray of shape (n_samples, max_len)
        Prefixes, left-padded, newest click in ``X[:, -1]``: int64 for integer ids padded with
        an integer, object otherwise.
    y : ndarray of shape (n_samples,)
        The click that followed each prefix: int64 for integer ids, object otherwise.
    groups : ndarray of shape (n_samples,)
        The session of each row. Rows are in time order of their target (input order of the
        targets when ``timestamps`` is None).

    Examples
    --------
    >>> from skvaser import sessions_to_prefixes
    >>> X, y, groups = sessions_to_prefixes([7, 7, 7, 9, 9], [1, 2, 3, 4, 1], max_len=3)
    >>> X
    array([[-1, -1,  1],
           [-1,  1,  2],
           [-1, -1,  4]])
    >>> y
    array([2, 3, 1])
    >>> groups
    array([7, 7, 9])
    """
    if isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral) or max_len < 1:
        raise ValueError(f"max_len must be a positive integer; got {max_len!r}.")
    padding_value = check_padding_value(padding_value)
    items = check_item_ids(item_ids, name="item_ids")
    if is_padding(items, padding_value).any():
        raise ValueError(
            f"padding_value={padding_value!r} is also an item id in item_ids: choose a padding "
            "value that no item has."
        )
    sessions = np.asarray(session_ids)
    if sessions.ndim != 1 or len(sessions) != len(items):
        raise ValueError(
            f"session_ids and item_ids must be 1-D of the same length; got shapes "
            f"{sessions.shape} and {items.shape}."
        )
    check_not_missing(sessions, "session_ids", "drop those clicks or give them a session.")
    session_code = pd.factorize(sessions)[0]
    n_clicks = len(items)
    position = np.arange(n_clicks)
    times = position if timestamps is None else _check_timestamps(timestamps, n_clicks)

    order = np.lexsort((position, times, session_code))  # by session, then time, then input
    session_code, items, times = session_code[order], items[order], times[order]
    new_session = np.ones(n_clicks, dtype=bool)
    new_session[1:] = session_code[1:] != session_code[:-1]
    start = np.maximum.accumulate(np.where(new_session, np.arange(n_clicks), 0))

    target = np.flatnonzero(~new_session)  # every click but a session's first
    window = target[:, None] - max_len + np.arange(max_len)  # (n_samples, max_len) positions
    inside = window >= start[target][:, None]
    integer = items.dtype != object and isinstance(padding_value, numbers.Integral)
    X = np.full(window.shape, padding_value, dtype=items.dtype if integer else object)
    X[inside] = items[window[inside]]

    rows = np.lexsort((order[target], times[target]))  # time order of targets, ties by input
    return X[rows], items[target][rows], sessions[order][target][rows]


def sessions_to_queries(sessions, *, max_len=30, padding_value=-1):
    """Query rows for live sessions: each whole session, left-padded, newest click last.

    Unlike :func:`sessions_to_prefixes`, which makes one training sample per next click, this
    makes one row per session, for the click that has not happened yet. A recommender's
    ``make_queries`` (e.g. :meth:`skvaser.VASERRecommender.make_queries`) calls it with the
    fitted width.

    Parameters
    ----------
    sessions : iterable of sequences of item ids
        The clicks of each session so far, oldest first; any length, 0 included.
    max_len : int, default=30
        Width of a row; longer sessions keep their newest ``max_len`` clicks.
    padding_value : int or object, default=-1
        Value that left-pads short sessions (see :func:`sessions_to_prefixes`).

    Returns
    -------
    X : ndarray of shape (n_sessions, max_len)
        int64 for integer ids, object otherwise.

    Examples
    --------
    >>> from skvaser.datasets import sessions_to_queries
    >>> sessions_to_queries([["a", "b"], [], ["c"]], max_len=3)
    array([[-1, 'a', 'b'],
           [-1, -1, -1],
           [-1, -1, 'c']], dtype=object)
    """
    if isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral) or max_len < 1:
        raise ValueError(f"max_len must be a positive integer; got {max_len!r}.")
    padding_value = check_padding_value(padding_value)
    if isinstance(sessions, np.ndarray) and sessions.ndim == 2:
        raise ValueError(
            "sessions must be a sequence of sessions (lists of item ids) of any lengths; got a "
            "2-D array, which already is a matrix of padded rows: pass it to predict directly."
        )
    sessions = list(sessions)  # a generator is read once
    for session in sessions:
        if isinstance(session, str | bytes) or not hasattr(session, "__len__"):
            raise TypeError(
                f"sessions must be a sequence of sessions, each a list of item ids; got "
                f"{session!r} as a session. Wrap a single session in a list: [[id, id, ...]]."
            )
    lengths = np.array([len(session) for session in sessions], dtype=np.int64)
    kept = np.minimum(lengths, max_len)
    clicks = [list(session)[len(session) - keep :] for session, keep in zip(sessions, kept)]
    flat = [item for session in clicks for item in session]
    items = check_item_ids(
        np.array(flat, dtype=object) if flat else np.zeros(0, dtype=np.int64), name="sessions"
    )
    if is_padding(items, padding_value).any():
        raise ValueError(
            f"padding_value={padding_value!r} is also an item id in sessions: choose a padding "
            "value that no item has."
        )
    integer = items.dtype != object and isinstance(padding_value, numbers.Integral)
    X = np.full((len(kept), max_len), padding_value, dtype=np.int64 if integer else object)
    row = np.repeat(np.arange(len(kept)), kept)
    position = np.arange(len(flat)) - np.repeat(np.cumsum(kept) - kept, kept)
    column = max_len - np.repeat(kept, kept) + position
    X[row, column] = items
    return X


def prefixes_to_sessions(X, y, groups, *, padding_value=-1):
    """Rebuild click sequences from prefix samples (the inverse of :func:`sessions_to_prefixes`).

    Each session is rebuilt from its longest prefix and that prefix's target, so a session is
    complete only if it was no longer than ``max_len + 1`` clicks.

    Parameters
    ----------
    X : array-like of shape (n_samples, max_len)
    y : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
    padding_value : int, default=-1

    Returns
    -------
    sessions : dict
        Session id -> 1-D array of its clicks in order.
    """
    X = check_item_ids(X, name="X", padding_value=padding_value, ndim=2)
    y = check_item_ids(y, name="y")
    groups = np.asarray(groups)
    if not len(X) == len(y) == len(groups):
        raise ValueError("X, y and groups must have the same number of rows.")
    click = ~is_padding(X, padding_value)
    length = click.sum(axis=1)
    sessions, names = {}, groups.tolist()  # Python values as keys
    for row in np.argsort(length, kind="stable"):  # longest prefix of each group wins
        sessions[names[row]] = np.concatenate([X[row][click[row]], y[row : row + 1]])
    return sessions
