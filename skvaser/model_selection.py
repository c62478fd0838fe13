"""Cross-validation over whole sessions: :class:`SessionSplitter`."""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state, indexable
from sklearn.utils.validation import check_array

from ._sklearn import GroupsConsumerMixin, Interval, _num_samples, validate_parameter_constraints

__all__ = ["SessionSplitter"]


class SessionSplitter(GroupsConsumerMixin, BaseCrossValidator):
    """Time-ordered cross-validator over whole sessions.

    The rows of ``X`` are prefix samples (see :func:`skvaser.sessions_to_prefixes`) and
    ``groups`` holds the session of each row. Sessions are ordered by their first row -- the rows
    of :func:`~skvaser.sessions_to_prefixes` are in time order of their target, so this is the
    order of the sessions' second clicks, the first that a prefix predicts -- and split like
    :class:`~sklearn.model_selection.TimeSeriesSplit`, but counting sessions instead of rows:
    the ``i``-th split tests on the ``i``-th of ``n_splits`` consecutive blocks of the most recent
    sessions and trains on the sessions ordered before that block (an expanding window), less
    the ``gap`` sessions just before the block. Every session lies wholly in the training or the
    test set or in neither, and every training session's first row precedes every test
    session's.

    With ``shuffle=True`` the sessions are instead shuffled and dealt into ``n_splits`` folds of
    (nearly) equal numbers of sessions, each the test set once, the others its training set:
    group K-fold for data without a time order.

    Parameters
    ----------
    n_splits : int, default=5
        Number of splits (train/test pairs). At least 1 for the time-ordered split, 2 with
        ``shuffle=True``.
    test_size : int, default=None
        Number of sessions in each test set of the time-ordered split. ``None`` means
        ``n_sessions // (n_splits + 1)``, the largest value with ``gap=0``.
    gap : int, default=0
        Number of sessions left out between the end of each training set and the start of its
        test set, e.g. to keep sessions that overlap in time with the test sessions out of
        training.
    max_train_size : int, default=None
        Largest number of sessions in a training set of the time-ordered split; the most recent
        ones are kept (a sliding instead of an expanding window). ``None`` keeps all.
    shuffle : bool, default=False
        Ignore the time order: shuffle the sessions and split them into ``n_splits`` random folds.
        ``test_size``, ``gap`` and ``max_train_size`` must then be left at their defaults.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle when ``shuffle=True`` (an int gives the same folds on every call);
        unused otherwise.

    See Also
    --------
    sklearn.model_selection.TimeSeriesSplit : The same scheme over rows instead of sessions.
    sklearn.model_selection.GroupKFold : Group K-fold, like ``shuffle=True``.
    skvaser.sessions_to_prefixes : Makes ``X``, ``y`` and ``groups`` from a click log.

    Notes
    -----
    All sizes count sessions, not rows: a test set of ``test_size`` sessions holds all of their
    prefix rows, so the number of rows per fold varies with the session lengths.

    Sessions are ordered by their first row only. Two sessions that overlap in time are never
    split apart, but a training session that started before a test session may still have clicks
    after that test session's first click; ``gap`` leaves such neighbours out.

    ``groups`` is required. It is requested through metadata routing, so with
    ``sklearn.set_config(enable_metadata_routing=True)`` it is passed as
    ``cross_validate(..., params={"groups": groups})`` or ``search.fit(X, y, groups=groups)``.

    Examples
    --------
    >>> from skvaser import sessions_to_prefixes
    >>> from skvaser.model_selection import SessionSplitter
    >>> session_ids = [1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    >>> item_ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]
    >>> X, y, groups = sessions_to_prefixes(session_ids, item_ids, max_len=3)
    >>> groups
    array([1, 2, 2, 3, 4, 5, 6])
    >>> cv = SessionSplitter(n_splits=3)
    >>> cv.get_n_splits()
    3
    >>> for train, test in cv.split(X, y, groups):
    ...     print(f"train {train} sessions {groups[train]}; test {test} sessions {groups[test]}")
    train [0 1 2 3] sessions [1 2 2 3]; test [4] sessions [4]
    train [0 1 2 3 4] sessions [1 2 2 3 4]; test [5] sessions [5]
    train [0 1 2 3 4 5] sessions [1 2 2 3 4 5]; test [6] sessions [6]
    >>> cv = SessionSplitter(n_splits=2, test_size=2, gap=1, max_train_size=1)
    >>> for train, test in cv.split(X, y, groups):
    ...     print(f"train sessions {groups[train]}; test sessions {groups[test]}")
    train sessions [1]; test sessions [3 4]
    train sessions [3]; test sessions [5 6]
    """

    _parameter_constraints: dict = {
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "test_size": [Interval(Integral, 1, None, closed="left"), None],
        "gap": [Interval(Integral, 0, None, closed="left")],
        "max_train_size": [Interval(Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    # Set explicitly (GroupsConsumerMixin does too): routing hands ``groups`` to ``split``.
    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_splits=5,
        *,
        test_size=None,
        gap=0,
        max_train_size=None,
        shuffle=False,
        random_state=None,
    ):
        self.n_splits = n_splits
        self.test_size = test_size
        self.gap = gap
        self.max_train_size = max_train_size
        self.shuffle = shuffle
        self.random_state = random_state

    def _validate_params(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            {name: getattr(self, name) for name in self._parameter_constraints},
            caller_name=type(self).__name__,
        )
        if self.shuffle:
            if self.n_splits < 2:
                raise ValueError(
                    "SessionSplitter(shuffle=True) needs n_splits >= 2; "
                    f"got n_splits={self.n_splits}."
                )
            time_only = {"test_size": None, "gap": 0, "max_train_size": None}
            changed = [name for name, value in time_only.items() if getattr(self, name) != value]
            if changed:
                raise ValueError(
                    f"{', '.join(changed)} only appl{'y' if len(changed) > 1 else 'ies'} to "
                    "the time-ordered split; leave "
                    f"{'them' if len(changed) > 1 else 'it'} at the default with shuffle=True."
                )

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Always ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
        """
        self._validate_params()
        return int(self.n_splits)

    def split(self, X, y=None, groups=None):
        """Generate indices to split data into training and test sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Prefix samples; only their number is used.
        y : array-like of shape (n_samples,), default=None
            Always ignored, exists for API compatibility.
        groups : array-like of shape (n_samples,)
            The session of each row. Required.

        Yields
        ------
        train : ndarray of int64, shape (n_train_samples,)
            Row indices of the training set, ascending.
        test : ndarray of int64, shape (n_test_samples,)
            Row indices of the test set, ascending.
        """
        self._validate_params()
        if groups is None:
            raise ValueError(
                "SessionSplitter needs groups= (the session of each row, as returned by "
                "sessions_to_prefixes); got groups=None. With metadata routing enabled, pass "
                "it as params={'groups': groups} to cross_validate, or groups=groups to a "
                "search's fit."
            )
        X, y, groups = indexable(X, y, groups)
        n_samples = _num_samples(X)
        groups = check_array(groups, input_name="groups", ensure_2d=False, dtype=None)
        if groups.ndim != 1:
            raise ValueError(f"groups must be 1-D (n_samples,); got shape {groups.shape}.")
        if len(groups) != n_samples:
            raise ValueError(f"X has {n_samples} rows but groups has {len(groups)} entries.")
        session = self._session_rank(groups)  # session of each row, numbered by first row
        n_sessions = int(session.max()) + 1
        folds = self._shuffled_folds(n_sessions) if self.shuffle else self._time_folds(n_sessions)
        for train_sessions, test_sessions in folds:
            yield self._rows(session, train_sessions), self._rows(session, test_sessions)

    @staticmethod
    def _rows(session, chosen):
        """Row indices (ascending) of the rows whose session is in ``chosen``."""
        mask = np.zeros(session.max() + 1, dtype=bool)
        mask[chosen] = True
        return np.flatnonzero(mask[session])

    @staticmethod
    def _session_rank(groups):
        """Number each row's session 0, 1, ... in the order of the sessions' first rows."""
        session = pd.factorize(groups, use_na_sentinel=True)[0]
        missing = session < 0
        if missing.any():
            raise ValueError(
                f"groups are missing (None or NaN) on {int(missing.sum()):,} of {len(groups):,} "
                f"rows, the first at row {int(np.argmax(missing))}: give every row its session."
            )
        return session.astype(np.int64, copy=False)

    def _time_folds(self, n_sessions):
        n_splits, gap = self.n_splits, self.gap
        test_size = n_sessions // (n_splits + 1) if self.test_size is None else self.test_size
        if test_size == 0:
            raise ValueError(
                f"Too few sessions for n_splits={n_splits}: the time-ordered split needs at least "
                f"n_splits + 1 = {n_splits + 1} sessions; got {n_sessions}."
            )
        n_first_train = n_sessions - gap - n_splits * test_size
        if n_first_train <= 0:
            raise ValueError(
                f"Too few sessions ({n_sessions}) for n_splits={n_splits} test sets of "
                f"test_size={test_size} sessions after a gap of {gap}: the first split would have "
                f"no training session (needs at least {n_splits * test_size + gap + 1} sessions)."
            )
        for test_start in range(n_sessions - n_splits * test_size, n_sessions, test_size):
            train_end = test_start - gap
            train_start = 0
            if self.max_train_size is not None:
                train_start = max(0, train_end - self.max_train_size)
            yield np.arange(train_start, train_end), np.arange(test_start, test_start + test_size)

    def _shuffled_folds(self, n_sessions):
        if self.n_splits > n_sessions:
            raise ValueError(
                f"Too few sessions for n_splits={self.n_splits}: shuffle=True needs at least one "
                f"session per fold; got {n_sessions} sessions."
            )
        rng = check_random_state(self.random_state)
        fold_of = np.empty(n_sessions, dtype=np.int64)
        for fold, members in enumerate(np.array_split(rng.permutation(n_sessions), self.n_splits)):
            fold_of[members] = fold
        everything = np.arange(n_sessions)
        for fold in range(self.n_splits):
            yield everything[fold_of != fold], everything[fold_of == fold]
