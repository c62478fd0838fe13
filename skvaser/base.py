"""The contract every skvaser recommender follows.

A recommender is fitted on prefix samples ``X`` of shape (n_samples, max_len) -- left-padded item
ids, newest click last -- and their next clicks ``y``. Item ids are the user's own (integers,
strings, bytes), as class labels are a classifier's: the recommender learns its vocabulary
``items_``, ranks all of those items for each prefix and returns their ids.
"""

from abc import abstractmethod
from collections.abc import Iterable
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._items import UNKNOWN, ItemIndex
from ._sklearn import Interval, StrOptions, validate_parameter_constraints
from ._validation import as_id_array, check_item_ids, check_padding_value, id_kind, is_padding
from ._warnings import warn_at_caller
from .datasets._prefixes import sessions_to_queries
from .metrics import recall_at_k

__all__ = ["BaseRecommender", "RANKING_PARAMETERS", "unchanged_on_error", "warn_at_caller"]

#: Docstring text of the parameters every recommender shares (defined once).
RANKING_PARAMETERS = """\
n_recommendations : int, default=20
        Columns returned by :meth:`predict`. Where fewer items are candidates (a small
        catalogue, ``allowed_items``, ``exclude_seen``), the remaining columns hold
        ``padding_value``.
    exclude_seen : bool, default=False
        Keep the items of a prefix (the clicks of its row) out of its recommendations. Off by
        default: the published protocol (and Recall@20 / MRR@20) counts repeat clicks.
    handle_unknown : {"warn", "ignore", "error"}, default="warn"
        Clicks on items not seen in ``fit`` are skipped, with one warning per call
        (``"warn"``) or silently (``"ignore"``); ``"error"`` raises a ValueError instead.
    padding_value : int or object, default=-1
        Value that pads prefixes on the left, never an item: a negative integer for integer
        item ids, any other value (for example None or ``""``) for string ids."""

class _FitOutcome:
    """What :func:`unchanged_on_error` yields: ``keep()`` marks a failing fit's state as
    worth keeping (finished epochs)."""

    kept = False

    def keep(self):
        self.kept = True


@contextmanager
def unchanged_on_error(estimator):
    """Give ``estimator`` back its attributes if the block raises, unless it called
    ``keep()`` on what this yields: a fit that fails leaves the model it was called on,
    fitted or not, rather than a new vocabulary beside an old network."""
    before = dict(estimator.__dict__)
    outcome = _FitOutcome()
    try:
        yield outcome
    except BaseException:
        if not outcome.kept:
            estimator.__dict__.clear()
            estimator.__dict__.update(before)
        raise


class BaseRecommender(BaseEstimator):
    """Base class of session-based recommenders.

    Subclasses implement ``_fit`` through :meth:`_prepare_fit` and :meth:`_rank` on encoded
    data: item ``items_[i]`` has code ``i + 1``; padding and unknown items have code 0.
    """

    _parameter_constraints: dict = {
        "n_recommendations": [Interval(Integral, 1, None, closed="left")],
        "exclude_seen": ["boolean"],
        "handle_unknown": [StrOptions({"warn", "ignore", "error"})],
        "padding_value": "no_validation",  # checked in fit: check_padding_value
    }
    #: What a ranking reads: serving changes these with ``set_params`` after ``fit``.
    _ranking_parameter_names = ("n_recommendations", "exclude_seen", "handle_unknown")

    # ------------------------------------------------------------------ validation
    def _check_X(self, X, *, reset):
        """Validate prefixes; return them as item ids (int64 or object) (n_samples, max_len).

        ``fit`` needs at least one row; ``predict`` accepts none (it returns no rows). A 1-D or
        3-D ``X``, or prefixes of another width than in ``fit``, raise a ValueError that says so.
        A fitted model given an array of the fitted width (the serving path) skips
        scikit-learn's generic checks, which such an array passes, and checks its ids only. A
        model fitted on a data frame takes such arrays (its own :meth:`make_queries` rows)
        without the warning about feature names: a prefix's columns are positions, the same
        in every frame and array; a frame's column names are still checked.
        """
        if isinstance(X, list | tuple):
            try:
                X = as_id_array(X)  # SKUs and -1 padding stay what they are
            except ValueError:
                pass  # ragged rows: scikit-learn's check below says so
        if (
            not reset
            and isinstance(X, np.ndarray)
            and X.dtype.kind in "iuO"
            and X.shape[1:] == (getattr(self, "n_features_in_", None),)
        ):
            return check_item_ids(X, name="X", padding_value=self.padding_value, ndim=2)
        try:
            X = validate_data(
                self, X, reset=reset, dtype=None, ensure_all_finite=False, accept_sparse=False,
                ensure_min_samples=1 if reset else 0,
            )
        except ValueError as exc:
            shape = getattr(X, "shape", None)
            if shape is None:
                try:
                    shape = np.shape(X)
                except ValueError:  # ragged rows: sklearn's message says so
                    raise exc from None
            if len(shape) != 2:
                raise ValueError(
                    f"X must be a 2-D array (n_samples, max_len) of left-padded prefixes; got "
                    f"an array of shape {tuple(shape)}. Reshape your data: a single prefix is "
                    "np.reshape(prefix, (1, -1)); build X with skvaser.sessions_to_prefixes, "
                    "or live sessions with the fitted model's make_queries."
                ) from None
            width = getattr(self, "n_features_in_", None)
            if not reset and width is not None and shape[1] != width:
                raise ValueError(
                    f"{exc} X holds prefixes of width (max_len) {shape[1]}, but this model was "
                    f"fitted on prefixes of width {width}: build them with "
                    f"sessions_to_prefixes(..., max_len={width}) or make_queries; to keep the "
                    f"newest {width} clicks use X[:, -{width}:], and left-pad narrower prefixes "
                    f"with padding_value={self.padding_value!r}."
                ) from None
            raise
        return check_item_ids(X, name="X", padding_value=self.padding_value, ndim=2)

    def _check_y(self, y, n_samples):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "pass the next item of each prefix."
            )
        y = as_id_array(y)
        if y.ndim == 2 and y.shape[1] == 1:
            raise ValueError(
                "y must be 1-D (n_samples,): the next item of each prefix; got a column vector."
            )
        y = check_item_ids(y, name="y")
        if len(y) != n_samples:
            raise ValueError(f"X has {n_samples} rows but y has {len(y)} entries.")
        return y

    def _check_same_kind(self, X, padding, y):
        """The ids of X (``padding``: its padding cells) and y must be of one kind; padding is
        never an item."""
        kinds = {id_kind(X[~padding]), id_kind(y)} - {"empty"}
        if len(kinds) > 1:
            raise TypeError(
                f"X and y hold item ids of different types ({' and '.join(sorted(kinds))}); "
                "item ids must all be of one type: convert them, e.g. with .astype(str)."
            )
        if is_padding(y, self.padding_value).any():
            raise ValueError(
                f"padding_value={self.padding_value!r} is also an item id in y: choose a "
                "padding value that no item has."
            )
        return kinds.pop() if kinds else "empty"

    def _handle_unknown(self, X, padding, codes):
        """Skip clicks on items not seen in ``fit`` as ``handle_unknown`` says."""
        if self.handle_unknown == "ignore":
            return
        unknown = (codes == UNKNOWN) & ~padding
        if not unknown.any():
            return
        rows, clicks = int(unknown.any(axis=1).sum()), int(unknown.sum())
        example = X[unknown][0]
        example = example.item() if isinstance(example, np.generic) else example
        if self.handle_unknown == "error":
            raise ValueError(
                f"{rows} of {len(X)} prefixes in X contain items not seen in fit, such as "
                f"{example!r}; set handle_unknown='warn' or 'ignore' to skip them."
            )
        warn_at_caller(
            f"{rows} of {len(X)} prefixes in X contain items not seen in fit ({clicks} "
            f"click{'s' if clicks > 1 else ''}, such as {example!r}); "
            f"{'those clicks are' if clicks > 1 else 'that click is'} skipped. Set "
            "handle_unknown='ignore' to skip them silently."
        )

    # ------------------------------------------------------------------ vocabulary
    def _prepare_fit(self, X, y, groups=None):
        """Validate parameters and data and learn the vocabulary; return encoded ``(X, y)`` and
        ``groups`` (one session per row of ``X``, or None) for the rows kept.

        Rows whose prefix holds no click are dropped with a warning.
        """
        self._validate_params()
        check_padding_value(self.padding_value)
        X = self._check_X(X, reset=True)
        y = self._check_y(y, len(X))
        if groups is not None:
            groups = np.asarray(groups)
            if groups.ndim != 1 or len(groups) != len(X):
                raise ValueError(
                    f"groups must be 1-D with one session per row of X ({len(X)}); "
                    f"got shape {groups.shape}."
                )
        padding = is_padding(X, self.padding_value)
        self._item_kind = self._check_same_kind(X, padding, y)
        empty = padding.all(axis=1)
        if empty.all():
            raise ValueError("Every prefix in X is empty (all padding): there is nothing to learn.")
        if empty.any():
            warn_at_caller(
                f"{empty.sum()} of {len(X)} prefixes in X contain no click (all padding); "
                "they are left out of training."
            )
            X, y, padding = X[~empty], y[~empty], padding[~empty]
            groups = None if groups is None else groups[~empty]
        clicks = np.concatenate([X[~padding], y])
        self.items_ = np.unique(clicks)
        self.n_items_ = len(self.items_)
        self._item_index = ItemIndex(self.items_)
        codes, targets = self._encode(X), self._encode(y)
        next_clicks = np.bincount(targets - 1, minlength=self.n_items_)
        self._popularity_order = np.argsort(-next_clicks, kind="stable")
        return codes, targets, groups

    def _encode(self, ids):
        """Item ids (any shape) -> codes: ``items_[i]`` -> i + 1; padding and unknown -> 0."""
        if getattr(self, "_item_index", None) is None:  # after unpickling
            self._item_index = ItemIndex(self.items_)
        return self._item_index.encode(np.asarray(ids))

    # ------------------------------------------------------------------ prediction
    @abstractmethod
    def _rank(self, codes, k, *, allowed, exclude_seen):
        """The ``k`` best items of prefixes that hold at least one known click.

        codes : int64 (n_samples, max_len), 0 for padding and unknown items.
        allowed : bool (n_items,) or None -- the only items that may be recommended.
        exclude_seen : bool -- keep each prefix's own items out.
        Returns ``(indices, scores)``: int64 (n_samples, k) indices into ``items_``, best
        first, -1 where fewer than ``k`` items are candidates; float64 (n_samples, k) scores,
        -inf at the -1 slots.
        """

    def _check_fitted_kind(self, ids, name):
        """Raise unless the item ids ``ids`` (padding removed) are of the kind seen in fit."""
        kind = id_kind(ids)
        if kind not in ("empty", self._item_kind):
            raise TypeError(
                f"{name} holds {kind} item ids, but this model was fitted on "
                f"{self._item_kind} ids: pass ids of the type seen in fit."
            )

    def _codes_to_rank(self, X):
        """Checked, encoded prefixes of a fitted model: int64 (n_samples, max_len), 0 for
        padding and unknown items (handled as ``handle_unknown`` says)."""
        check_is_fitted(self, "items_")
        self._check_ranking_parameters()
        X = self._check_X(X, reset=False)
        padding = is_padding(X, self.padding_value)
        self._check_fitted_kind(X[~padding], "X")
        codes = self._encode(X)
        self._handle_unknown(X, padding, codes)
        return codes

    def _allowed(self, allowed_items):
        """Candidate mask (n_items,) of ``allowed_items`` (ids unknown to the model are not
        candidates), or None for every item."""
        if allowed_items is None:
            return None
        if isinstance(allowed_items, str | bytes):  # else read as its characters
            raise TypeError(
                f"allowed_items must be a collection of item ids; got the single id "
                f"{allowed_items!r}: wrap it in a list, [{allowed_items!r}]."
            )
        if np.ndim(allowed_items) == 0 and isinstance(allowed_items, Iterable):
            allowed_items = list(allowed_items)  # a set, dict keys, a generator
        allowed_items = check_item_ids(allowed_items, name="allowed_items")
        self._check_fitted_kind(allowed_items, "allowed_items")
        allowed = np.zeros(self.n_items_ + 1, dtype=bool)
        allowed[self._encode(allowed_items)] = True
        return allowed[1:]

    def _popular(self, n_rows, k, allowed):
        """The ``k`` most popular items (candidates only) for ``n_rows`` prefixes without a
        known click: indices (-1 past the candidates) and scores (NaN, -inf past the
        candidates)."""
        order = self._popularity_order
        if allowed is not None:
            order = order[allowed[order]]
        indices = np.full(k, -1, dtype=np.int64)
        indices[: min(k, len(order))] = order[:k]
        scores = np.where(indices >= 0, np.nan, -np.inf)
        return np.tile(indices, (n_rows, 1)), np.tile(scores, (n_rows, 1))

    def _check_ranking_parameters(self):
        """Raise :class:`~sklearn.utils._param_validation.InvalidParameterError` for a ranking
        parameter set to an invalid value since ``fit`` (``exclude_seen="False"`` would filter,
        being truthy)."""
        names = self._ranking_parameter_names
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in names},
            {name: getattr(self, name) for name in names},
            caller_name=type(self).__name__,
        )

    def _recommend(self, X, k, allowed_items=None):
        """Item ids (n_samples, k) and scores (n_samples, k) of the ``k`` best items."""
        codes = self._codes_to_rank(X)
        allowed = self._allowed(allowed_items)
        k_items = min(k, self.n_items_)
        known = codes.any(axis=1)
        if known.all():
            indices, scores = self._rank(
                codes, k_items, allowed=allowed, exclude_seen=self.exclude_seen
            )
        else:
            indices = np.empty((len(codes), k_items), dtype=np.int64)
            scores = np.empty((len(codes), k_items))
            indices[~known], scores[~known] = self._popular((~known).sum(), k_items, allowed)
            if known.any():
                indices[known], scores[known] = self._rank(
                    codes[known], k_items, allowed=allowed, exclude_seen=self.exclude_seen
                )
        if k > k_items:
            indices = np.pad(indices, ((0, 0), (0, k - k_items)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, k - k_items)), constant_values=-np.inf)
        items = self.items_[np.maximum(indices, 0)]
        padded = indices < 0
        if padded.any():
            if items.dtype.kind != "O" and not isinstance(self.padding_value, Integral):
                items = items.astype(object)
            items[padded] = self.padding_value
        return items, scores

    def predict(self, X, *, allowed_items=None, return_scores=False):
        """Recommend items for each prefix.

        A prefix with no known click (empty, or only items unseen in ``fit``) gets the most
        popular training items: those most often clicked next (neural models, votes), or in
        the most training sessions (the neighbourhood models).

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last (see :meth:`make_queries` for
            live sessions).
        allowed_items : array-like, set or other iterable of item ids, default=None
            The only items that may be recommended (in stock, in a category), applied inside
            the ranking so that ``n_recommendations`` items still come back where enough are
            allowed. None allows every item.
        return_scores : bool, default=False
            Also return the score of each recommendation.

        Returns
        -------
        recommendations : ndarray of shape (n_samples, n_recommendations)
            Item ids from ``items_``, best first. Where fewer items are candidates the
            remaining columns hold ``padding_value``.
        scores : ndarray of float64, shape (n_samples, n_recommendations)
            Only with ``return_scores=True``: the model's score of each recommended item (see
            the model's Notes), non-increasing along a row, ties broken as in the ranking;
            NaN for the rows answered by popularity, -inf at the padding columns.
        """
        items, scores = self._recommend(X, self.n_recommendations, allowed_items)
        return (items, scores) if return_scores else items

    def make_queries(self, sessions):
        """Query rows of the fitted width for live sessions, to pass to :meth:`predict`.

        Parameters
        ----------
        sessions : iterable of sequences of item ids
            The clicks of each live session so far, oldest first; any length, 0 included.

        Returns
        -------
        X : ndarray of shape (n_sessions, max_len)
            Each whole session as the query, left-padded with ``padding_value``, newest click
            in the last column, ``max_len`` the fitted width ``n_features_in_``; longer
            sessions keep their newest clicks.
        """
        check_is_fitted(self, "items_")
        return sessions_to_queries(
            sessions, max_len=self.n_features_in_, padding_value=self.padding_value
        )

    def score(self, X, y):
        """Recall@20 of the recommendations for X against the next items y.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes.
        y : array-like of shape (n_samples,)
            Next item of each prefix; items unknown to the model count as misses.

        Returns
        -------
        recall : float
        """
        recommendations, _ = self._recommend(X, 20)
        return recall_at_k(self._check_y(y, len(recommendations)), recommendations, k=20)

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_item_index", None)  # rebuilt on first use
        from . import __version__

        state["_skvaser_version"] = __version__
        return state

    def __setstate__(self, state):
        from . import __version__
        from .persistence import InconsistentVersionWarning  # persistence imports this module

        state = dict(state)
        original = state.pop("_skvaser_version", "unknown")
        if original != __version__:
            warn_at_caller(InconsistentVersionWarning(type(self).__name__, original, __version__))
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = False
        return tags

