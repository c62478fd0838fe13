"""The standard preprocessing of session-based recommendation papers.

NARM, STAMP, SR-GNN and VASER (its section 4.1) all prepare YOOCHOOSE and DIGINETICA the same
way: drop one-click sessions, drop items clicked fewer than 5 times, drop sessions left shorter
than 2 clicks; the sessions of the last day (DIGINETICA: last 7 days) are the test set; test
clicks on items unseen in training are dropped, then test sessions left shorter than 2; YOOCHOOSE
1/64 and 1/4 keep the most recent 1/64 or 1/4 of the training sessions.

Every step returns what it kept and a report of what it dropped (:class:`PreprocessingStep`),
and logs that report on the ``"skvaser.datasets"`` logger at level INFO. Clicks keep their input
order in every output.

Timestamps are numbers in a ``time_unit`` (seconds by default), ``datetime64`` values, or
timezone-aware datetimes (a pandas Series or an array of :class:`pandas.Timestamp`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._sklearn import Interval, StrOptions, validate_params
from .._validation import check_not_missing, mixed_types_error
from .._warnings import warn_at_caller

__all__ = [
    "PreprocessingStep",
    "filter_sessions",
    "temporal_split",
    "keep_recent_fraction",
    "drop_unseen_items",
    "preprocess",
]

logger = logging.getLogger("skvaser.datasets")

_SECONDS_PER_DAY = 86_400

#: Units of numeric times, and how many of each make a second.
_UNITS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_TIME_UNIT = [StrOptions(set(_UNITS_PER_SECOND))]


def _adjacent_unit(time_unit, step):
    """The unit ``step`` places finer (1) or coarser (-1) than ``time_unit``; None past the
    finest or the coarsest."""
    units = list(_UNITS_PER_SECOND)  # coarse to fine
    at = units.index(time_unit) + step
    return units[at] if 0 <= at < len(units) else None

#: Share of the sessions below which a side of a temporal split is suspicious.
_SMALL_SIDE = 0.01


def _time_order(timestamps, time_unit="s", name="timestamps"):
    """Times as numbers that order them, and how many of those numbers make a second.

    Parameters
    ----------
    timestamps : ndarray of shape (n_clicks,)
        Numbers in ``time_unit``, ``datetime64`` values, or datetimes (timezone-aware or not)
        in an object array.
    time_unit : {"s", "ms", "us", "ns"} or None, default="s"
        Unit of numeric times; None where only their order matters.
    name : str, default="timestamps"
        What to call the times in error messages.

    Returns
    -------
    order : ndarray of shape (n_clicks,)
        The numbers themselves, or nanoseconds since 1970-01-01 UTC (int64) for datetimes.
    per_second : int or None
        Units of ``order`` in one second (None for numbers without a ``time_unit``).
    """
    kind = timestamps.dtype.kind
    if kind in "iuf":
        if kind == "f" and not np.isfinite(timestamps).all():
            raise ValueError(f"{name} contain NaN or infinite values.")
        return timestamps, _UNITS_PER_SECOND.get(time_unit)
    if kind == "M" or (kind == "O" and pd.api.types.infer_dtype(timestamps) == "datetime"):
        try:
            stamps = pd.to_datetime(timestamps, utc=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} hold datetimes that cannot be compared: {exc}") from exc
        if stamps.isna().any():
            raise ValueError(f"{name} contain missing times (NaT).")
        return stamps.tz_convert(None).as_unit("ns").to_numpy().view(np.int64), 10**9
    unit = "" if time_unit is None else " (in time_unit: 's', 'ms', 'us' or 'ns')"
    raise TypeError(
        f"{name} must be numbers{unit} or datetimes; got "
        f"dtype {timestamps.dtype}. Parse text times with pandas.to_datetime, or read the log "
        "with skvaser.datasets.load_click_log, which does."
    )

_CLICK_ARRAYS = {
    "session_ids": ["array-like"],
    "item_ids": ["array-like"],
    "timestamps": ["array-like"],
}
_MIN_SESSION_LENGTH = [Interval(Integral, 1, None, closed="left")]


@dataclass(frozen=True)
class PreprocessingStep:
    """Counts of the clicks, sessions and items before and after one preprocessing step.

    Attributes
    ----------
    name : str
        The function that ran the step, such as ``"filter_sessions"``.
    description : str
        What the step removed, or which part of the data it selected.
    n_clicks_before, n_clicks_after : int
    n_sessions_before, n_sessions_after : int
    n_items_before, n_items_after : int
        Distinct sessions and items among the clicks.
    n_clicks_dropped, n_sessions_dropped, n_items_dropped : int
        Each count before less after (properties).
    """

    name: str
    description: str
    n_clicks_before: int
    n_clicks_after: int
    n_sessions_before: int
    n_sessions_after: int
    n_items_before: int
    n_items_after: int

    @property
    def n_clicks_dropped(self):
        """Clicks removed by the step."""
        return self.n_clicks_before - self.n_clicks_after

    @property
    def n_sessions_dropped(self):
        """Sessions left without a click by the step."""
        return self.n_sessions_before - self.n_sessions_after

    @property
    def n_items_dropped(self):
        """Items left without a click by the step."""
        return self.n_items_before - self.n_items_after

    def __str__(self):
        return (
            f"{self.name}: {self.description}: clicks {self.n_clicks_before:,} -> "
            f"{self.n_clicks_after:,}, sessions {self.n_sessions_before:,} -> "
            f"{self.n_sessions_after:,}, items {self.n_items_before:,} -> {self.n_items_after:,}"
        )


def _unique(ids, name, what, **options):
    """``np.unique(ids, **options)``, or a TypeError naming two of the types that ``ids``
    mixes where they cannot be ordered."""
    try:
        return np.unique(ids, **options)
    except TypeError:
        raise mixed_types_error(name, ids, what=what) from None


class _Clicks:
    """Validated click arrays with sessions and items coded ``0..n-1`` for fast counting.

    ``times`` are the timestamps as given (passed through to the outputs), ``order`` the
    numbers that order them, ``per_second`` how many units of ``order`` make a second.
    """

    def __init__(self, session_ids, item_ids, timestamps, time_unit="s"):
        arrays = [np.asarray(a) for a in (session_ids, item_ids, timestamps)]
        shapes = [a.shape for a in arrays]
        if any(len(shape) != 1 for shape in shapes) or len(set(shapes)) != 1:
            raise ValueError(
                "session_ids, item_ids and timestamps must be 1-D arrays of the same length; "
                f"got shapes {shapes}."
            )
        self.sessions, self.items, self.times = arrays
        check_not_missing(self.sessions, "session_ids", "drop those clicks or give them a session.")
        check_not_missing(self.items, "item_ids", "drop the clicks without an item.")
        self.order, self.per_second = _time_order(self.times, time_unit)
        _, self.first_click, self.session_code = _unique(
            self.sessions, "session_ids", "session ids", return_index=True, return_inverse=True
        )
        item_code = _unique(self.items, "item_ids", "item ids", return_inverse=True)[1]
        self.item_code = item_code.reshape(-1)
        self.session_code = self.session_code.reshape(-1)
        self.n_sessions = len(self.first_click)
        self.n_items = int(self.item_code.max(initial=-1)) + 1

    def counts(self, keep):
        """(clicks, sessions, items) among the clicks where ``keep`` is True."""
        return (
            int(keep.sum()),
            int(np.count_nonzero(np.bincount(self.session_code[keep], minlength=self.n_sessions))),
            int(np.count_nonzero(np.bincount(self.item_code[keep], minlength=self.n_items))),
        )

    def session_lengths(self, keep):
        """Number of kept clicks of each click's session, shape (n_clicks,)."""
        return np.bincount(self.session_code[keep], minlength=self.n_sessions)[self.session_code]

    def session_ends(self):
        """Time of the last click of every session, shape (n_sessions,)."""
        order = np.lexsort((self.order, self.session_code))
        sorted_codes = self.session_code[order]
        last = np.searchsorted(sorted_codes, np.arange(self.n_sessions), side="right") - 1
        return self.order[order][last]

    def select(self, keep):
        return self.sessions[keep], self.items[keep], self.times[keep]


def _step(name, description, before, after):
    """Make and log the report of a step from (clicks, sessions, items) before and after it."""
    step = PreprocessingStep(
        name, description, before[0], after[0], before[1], after[1], before[2], after[2]
    )
    logger.info("%s", step)
    return step


def _format_time(seconds):
    try:
        stamp = datetime.fromtimestamp(float(seconds), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{seconds} s"
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


@validate_params(
    {
        **_CLICK_ARRAYS,
        "min_session_length": _MIN_SESSION_LENGTH,
        "min_item_support": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def filter_sessions(session_ids, item_ids, timestamps, *, min_session_length=2, min_item_support=5):
    """Drop short sessions and rare items, in the order of SR-GNN's preprocessing.

    Three steps, each reported: drop sessions shorter than ``min_session_length``; then drop
    the clicks on items clicked fewer than ``min_item_support`` times in what is left; then drop
    the sessions this leaves shorter than ``min_session_length``. As in the papers this is one
    pass: an item may end below the support after the last step.

    Parameters
    ----------
    session_ids : array-like of shape (n_clicks,)
    item_ids : array-like of shape (n_clicks,)
    timestamps : array-like of shape (n_clicks,)
        Click times (numbers in any unit, or datetimes); passed through.
    min_session_length : int, default=2
        Fewest clicks a session keeps.
    min_item_support : int, default=5
        Fewest clicks an item keeps.

    Returns
    -------
    session_ids, item_ids, timestamps : ndarray of shape (n_kept,)
        The kept clicks, in input order.
    report : list of PreprocessingStep
        The three steps' counts.

    Examples
    --------
    >>> from skvaser.datasets import filter_sessions
    >>> sessions = [1, 1, 2, 3, 3, 3, 4, 4]
    >>> items = [7, 8, 7, 7, 8, 9, 7, 9]
    >>> s, i, t, report = filter_sessions(sessions, items, range(8), min_item_support=2)
    >>> s, i
    (array([1, 1, 3, 3, 3, 4, 4]), array([7, 8, 7, 8, 9, 7, 9]))
    >>> print(report[0])  # doctest: +NORMALIZE_WHITESPACE
    filter_sessions: sessions shorter than 2 clicks: clicks 8 -> 7, sessions 4 -> 3,
    items 3 -> 3
    """
    clicks = _Clicks(session_ids, item_ids, timestamps)
    keep = np.ones(len(clicks.items), dtype=bool)
    report = []

    def drop(description, remove):
        before = clicks.counts(keep)
        keep[remove] = False
        report.append(_step("filter_sessions", description, before, clicks.counts(keep)))

    short = f"shorter than {min_session_length} clicks"
    drop(f"sessions {short}", clicks.session_lengths(keep) < min_session_length)
    support = np.bincount(clicks.item_code[keep], minlength=clicks.n_items)[clicks.item_code]
    drop(f"items with fewer than {min_item_support} clicks", support < min_item_support)
    drop(f"sessions left {short}", clicks.session_lengths(keep) < min_session_length)
    return *clicks.select(keep), report


@validate_params(
    {
        **_CLICK_ARRAYS,
        "test_days": [Interval(Real, 0, None, closed="neither")],
        "time_unit": _TIME_UNIT,
    },
    prefer_skip_nested_validation=True,
)
def temporal_split(session_ids, item_ids, timestamps, *, test_days=1, time_unit="s"):
    """Split sessions into training and test sets by the time of their last click.

    The test sessions are those whose last click falls in the last ``test_days`` days of the
    log, that is after ``max(timestamps)`` minus ``test_days`` days; the others are training
    sessions. YOOCHOOSE's test set is the last day, DIGINETICA's the last 7 days. No session is
    split between the two.

    Parameters
    ----------
    session_ids : array-like of shape (n_clicks,)
    item_ids : array-like of shape (n_clicks,)
    timestamps : array-like of shape (n_clicks,)
        Click times: numbers in ``time_unit``, ``datetime64`` values or timezone-aware
        datetimes.
    test_days : float, default=1
        Length of the test period, in days of 86,400 seconds.
    time_unit : {"s", "ms", "us", "ns"}, default="s"
        Unit of numeric ``timestamps``: seconds, milliseconds, microseconds or nanoseconds.
        Ignored for datetimes.

    Returns
    -------
    train : tuple of 3 ndarrays of shape (n_train_clicks,)
        ``(session_ids, item_ids, timestamps)`` of the training sessions, in input order.
    test : tuple of 3 ndarrays of shape (n_test_clicks,)
        The same for the test sessions.
    report : list of PreprocessingStep
        The counts of each part.

    Warns
    -----
    UserWarning
        When one side holds less than 1 % of the sessions: most often numeric times read in the
        wrong ``time_unit`` (milliseconds read as seconds make ``test_days=1`` a test period
        of 86 seconds).

    Examples
    --------
    >>> from skvaser.datasets import temporal_split
    >>> day = 86400
    >>> times = [0, 60, 2 * day, 2 * day + 60]
    >>> train, test, report = temporal_split([1, 1, 2, 2], [5, 6, 5, 7], times)
    >>> train[0], test[0]
    (array([1, 1]), array([2, 2]))

    Milliseconds, or datetimes:

    >>> train, test, report = temporal_split([1, 1, 2, 2], [5, 6, 5, 7],
    ...                                      [1000 * t for t in times], time_unit="ms")
    >>> test[0]
    array([2, 2])
    >>> import pandas as pd
    >>> stamps = pd.to_datetime(times, unit="s").tz_localize("Europe/Paris")
    >>> temporal_split([1, 1, 2, 2], [5, 6, 5, 7], stamps)[1][0]
    array([2, 2])
    """
    clicks = _Clicks(session_ids, item_ids, timestamps, time_unit)
    ends = clicks.session_ends()
    period = test_days * _SECONDS_PER_DAY * clicks.per_second
    if float(period).is_integer():
        period = int(period)  # integer times stay exact
    split_time = (clicks.order.max() if len(clicks.order) else 0) - period  # times may be < 0
    is_test_session = ends > split_time
    is_test = is_test_session[clicks.session_code]
    everything = clicks.counts(np.ones(len(is_test), dtype=bool))
    when = _format_time(split_time / clicks.per_second)
    days = f"{test_days:g} day" + "s" * (test_days != 1)
    report = [
        _step(
            "temporal_split",
            f"train: sessions ending by {when}",
            everything,
            clicks.counts(~is_test),
        ),
        _step(
            "temporal_split",
            f"test: sessions ending after {when} (the last {days})",
            everything,
            clicks.counts(is_test),
        ),
    ]
    _check_split_sizes(clicks, int(is_test_session.sum()), test_days, time_unit)
    return clicks.select(~is_test), clicks.select(is_test), report


def _check_split_sizes(clicks, n_test, test_days, time_unit):
    """Warn when a side of a temporal split holds less than 1 % of the sessions."""
    n_train = clicks.n_sessions - n_test
    if not clicks.n_sessions or min(n_train, n_test) >= _SMALL_SIDE * clicks.n_sessions:
        return
    side, n_side = ("test", n_test) if n_test < n_train else ("training", n_train)
    span = (clicks.order.max() - clicks.order.min()) / clicks.per_second / _SECONDS_PER_DAY
    if clicks.times.dtype.kind in "iuf":
        reading = f"with time_unit={time_unit!r}"
        # a tiny test side: times read in too coarse a unit span too long, and the reverse
        other = _adjacent_unit(time_unit, 1 if side == "test" else -1)
        unit = "time_unit" if other is None else f"time_unit={other!r}"
        hint = (
            f"If the timestamps are not in {time_unit!r}, pass their unit: {unit}; otherwise "
            "choose test_days for the log's span."
        )
    else:
        reading, hint = "", "Choose test_days for the log's span."
    warn_at_caller(
        f"temporal_split: the {side} set holds {n_side:,} of {clicks.n_sessions:,} sessions "
        f"(less than 1 %) with test_days={test_days:g}; the log spans {span:,.1f} days "
        f"{reading}. {hint}".replace("  ", " ")
    )


@validate_params(
    {**_CLICK_ARRAYS, "fraction": [Interval(Real, 0, 1, closed="right")]},
    prefer_skip_nested_validation=True,
)
def keep_recent_fraction(session_ids, item_ids, timestamps, *, fraction=1 / 64):
    """Keep the most recent fraction of the sessions, such as YOOCHOOSE 1/64 or 1/4.

    Sessions are ordered by the time of their last click (ties: by their first row), and the
    last ``floor(n_sessions * fraction)`` of them are kept. SR-GNN's preprocessing counts
    prefix samples instead (it keeps the last ``len(samples) // 64``, which may begin inside a
    session); this keeps whole sessions, and a share of the sessions is not quite the same
    share of the samples.

    Raises a ValueError when the fraction keeps no session.

    Parameters
    ----------
    session_ids : array-like of shape (n_clicks,)
    item_ids : array-like of shape (n_clicks,)
    timestamps : array-like of shape (n_clicks,)
        Click times (numbers in any unit, an order key, or datetimes).
    fraction : float, default=1/64
        Share of the sessions to keep, in (0, 1].

    Returns
    -------
    session_ids, item_ids, timestamps : ndarray of shape (n_kept,)
        The kept clicks, in input order.
    report : list of PreprocessingStep
        The step's counts.

    Examples
    --------
    >>> from skvaser.datasets import keep_recent_fraction
    >>> s, i, t, report = keep_recent_fraction([1, 1, 2, 3, 3], [4, 5, 4, 6, 4], [0, 1, 2, 3, 4],
    ...                                        fraction=1 / 2)
    >>> s
    array([3, 3])
    """
    clicks = _Clicks(session_ids, item_ids, timestamps)
    n_keep = int(clicks.n_sessions * fraction)
    if n_keep == 0 and clicks.n_sessions:
        raise ValueError(
            f"fraction={fraction:g} of {clicks.n_sessions:,} sessions keeps none: give a "
            f"fraction of at least 1/{clicks.n_sessions:,}."
        )
    order = np.lexsort((clicks.first_click, clicks.session_ends()))
    recent = np.zeros(clicks.n_sessions, dtype=bool)
    recent[order[clicks.n_sessions - n_keep :]] = True
    keep = recent[clicks.session_code]
    everything = np.ones(len(keep), dtype=bool)
    inverse = round(1 / fraction)
    share = f"1/{inverse}" if np.isclose(inverse * fraction, 1) else f"{fraction:g}"
    description = f"the most recent {share} of the sessions ({n_keep:,})"
    report = [
        _step("keep_recent_fraction", description, clicks.counts(everything), clicks.counts(keep))
    ]
    return *clicks.select(keep), report


@validate_params(
    {"known_items": ["array-like"], **_CLICK_ARRAYS, "min_session_length": _MIN_SESSION_LENGTH},
    prefer_skip_nested_validation=True,
)
def drop_unseen_items(known_items, session_ids, item_ids, timestamps, *, min_session_length=2):
    """Drop clicks on items outside ``known_items``, then sessions left too short.

    This prepares a test set for models that only know the training items.

    Parameters
    ----------
    known_items : array-like of shape (n_known,)
        Items to keep, such as the item ids of the training clicks (repeats allowed).
    session_ids : array-like of shape (n_clicks,)
    item_ids : array-like of shape (n_clicks,)
    timestamps : array-like of shape (n_clicks,)
        Click times; passed through.
    min_session_length : int, default=2
        Fewest clicks a session keeps.

    Returns
    -------
    session_ids, item_ids, timestamps : ndarray of shape (n_kept,)
        The kept clicks, in input order.
    report : list of PreprocessingStep
        Counts of the two steps.

    Examples
    --------
    >>> from skvaser.datasets import drop_unseen_items
    >>> s, i, t, report = drop_unseen_items([4, 5], [1, 1, 1, 2, 2], [4, 9, 5, 4, 9], range(5))
    >>> s, i
    (array([1, 1]), array([4, 5]))
    >>> [step.n_clicks_dropped for step in report]
    [2, 1]
    """
    clicks = _Clicks(session_ids, item_ids, timestamps)
    keep = np.isin(clicks.items, np.asarray(known_items))
    everything = clicks.counts(np.ones(len(keep), dtype=bool))
    report = [_step("drop_unseen_items", "clicks on unseen items", everything, clicks.counts(keep))]
    before = clicks.counts(keep)
    keep &= clicks.session_lengths(keep) >= min_session_length
    description = f"sessions left shorter than {min_session_length} clicks"
    report.append(_step("drop_unseen_items", description, before, clicks.counts(keep)))
    return *clicks.select(keep), report


@validate_params(
    {
        **_CLICK_ARRAYS,
        "test_days": [Interval(Real, 0, None, closed="neither")],
        "fraction": [Interval(Real, 0, 1, closed="right"), None],
        "min_item_support": [Interval(Integral, 1, None, closed="left")],
        "min_session_length": _MIN_SESSION_LENGTH,
        "time_unit": _TIME_UNIT,
    },
    prefer_skip_nested_validation=True,
)
def preprocess(
    session_ids,
    item_ids,
    timestamps,
    *,
    test_days=1,
    fraction=None,
    min_item_support=5,
    min_session_length=2,
    time_unit="s",
):
    """Prepare a raw click log as the papers do: filter, split by time, clean the test set.

    Runs :func:`filter_sessions`, :func:`temporal_split`, :func:`drop_unseen_items` (test clicks
    on items absent from the training clicks) and, if ``fraction`` is given,
    :func:`keep_recent_fraction` on the training sessions. As in SR-GNN, the test set is
    cleaned against the items of all training sessions before the fraction is taken, so a few
    test items may be unknown to a model trained on the fraction (0.75 % of the test clicks of
    YOOCHOOSE 1/64); they count as misses.

    Parameters
    ----------
    session_ids : array-like of shape (n_clicks,)
    item_ids : array-like of shape (n_clicks,)
    timestamps : array-like of shape (n_clicks,)
        Click times: numbers in ``time_unit``, ``datetime64`` values or timezone-aware
        datetimes.
    test_days : float, default=1
        Length of the test period in days: 1 for YOOCHOOSE, 7 for DIGINETICA.
    fraction : float or None, default=None
        Share of the most recent training sessions to keep (1/64, 1/4); None keeps them all.
    min_item_support : int, default=5
        Fewest clicks an item keeps.
    min_session_length : int, default=2
        Fewest clicks a session keeps.
    time_unit : {"s", "ms", "us", "ns"}, default="s"
        Unit of numeric ``timestamps``; ignored for datetimes.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        train : tuple of 3 ndarrays of shape (n_train_clicks,)
            ``(session_ids, item_ids, timestamps)`` of the training clicks, in input order.
        test : tuple of 3 ndarrays of shape (n_test_clicks,)
            The same for the test clicks.
        report : list of PreprocessingStep
            Every step's counts, in the order they ran.

    Warns
    -----
    UserWarning
        When the temporal split leaves less than 1 % of the sessions on one side: see
        :func:`temporal_split`.

    Examples
    --------
    >>> from skvaser.datasets import make_sessions, preprocess
    >>> data = preprocess(*make_sessions(2000, 300, random_state=0), test_days=1)
    >>> len(data.train[0]), len(data.test[0])
    (8457, 1366)
    >>> print(data.report[1])  # doctest: +NORMALIZE_WHITESPACE
    filter_sessions: items with fewer than 5 clicks: clicks 10,031 -> 9,854,
    sessions 2,000 -> 1,999, items 268 -> 197
    """
    *clicks, report = filter_sessions(
        session_ids,
        item_ids,
        timestamps,
        min_session_length=min_session_length,
        min_item_support=min_item_support,
    )
    train, test, split_report = temporal_split(*clicks, test_days=test_days, time_unit=time_unit)
    *test, unseen_report = drop_unseen_items(train[1], *test, min_session_length=min_session_length)
    report += split_report + unseen_report
    if fraction is not None:
        *train, fraction_report = keep_recent_fraction(*train, fraction=fraction)
        report += fraction_report
    return Bunch(train=tuple(train), test=tuple(test), report=report)
