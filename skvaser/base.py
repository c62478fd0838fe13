"""The contract every skvaser recommender follows.

A recommender is fitted on prefix samples ``X`` of shape (n_samples, max_len) -- left-padded item
ids, newest click last -- and their next clicks ``y``. It learns its item vocabulary ``items_`` and
ranks all of those items for each prefix.
"""

import warnings
from abc import abstractmethod
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._sklearn import Interval
from ._validation import check_item_ids
from .metrics import recall_at_k

__all__ = ["BaseRecommender"]

#: Code of padding and of items unknown to the model in encoded prefixes.
UNKNOWN = 0
#: Largest item id + 1 encoded through a dense lookup table (8 bytes an entry: 128 MiB).
ENCODING_TABLE_SIZE = 2**24


class BaseRecommender(BaseEstimator):
    """Base class of session-based recommenders.

    Subclasses implement ``_fit(codes, targets)`` and ``_rank(codes, k)`` on encoded data:
    item ``items_[i]`` has code ``i + 1``; padding and unknown items have code 0.
    """

    _parameter_constraints: dict = {
        "n_recommendations": [Interval(Integral, 1, None, closed="left")],
        "padding_value": [Interval(Integral, None, -1, closed="right")],
    }

    # ------------------------------------------------------------------ validation
    def _check_X(self, X, *, reset):
        """Validate prefixes; return them as int64 (n_samples, max_len).

        ``fit`` needs at least one row; ``predict`` accepts none (it returns no rows). A 1-D or
        3-D ``X``, or prefixes of another width than in ``fit``, raise a ValueError that says so.
        """
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
                    "np.reshape(prefix, (1, -1)); build X with skvaser.sessions_to_prefixes."
                ) from None
            width = getattr(self, "n_features_in_", None)
            if not reset and width is not None and shape[1] != width:
                raise ValueError(
                    f"{exc} X holds prefixes of width (max_len) {shape[1]}, but this model was "
                    f"fitted on prefixes of width {width}: build them with "
                    f"sessions_to_prefixes(..., max_len={width}); to keep the newest {width} "
                    f"clicks use X[:, -{width}:], and left-pad narrower prefixes with "
                    f"padding_value={self.padding_value}."
                ) from None
            raise
        return check_item_ids(X, name="X", padding_value=self.padding_value, ndim=2)

    def _check_y(self, y, n_samples):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "pass the next item of each prefix."
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            raise ValueError(
                "y must be 1-D (n_samples,): the next item of each prefix; got a column vector."
            )
        y = check_item_ids(y, name="y")
        if len(y) != n_samples:
            raise ValueError(f"X has {n_samples} rows but y has {len(y)} entries.")
        return y

    def _warn_empty_rows(self, X, when):
        empty = (X == self.padding_value).all(axis=1)
        if empty.any():
            warnings.warn(
                f"{empty.sum()} of {len(X)} prefixes in X contain no click (all padding); "
                + (
                    "they are left out of training."
                    if when == "fit"
                    else f"they get the {'encoding' if when == 'encode' else 'recommendations'} "
                    "of an empty session."
                ),
                UserWarning,
                stacklevel=3,
            )
        return empty

    def _warn_unknown_items(self, X, codes):
        """Warn about clicks on items not seen in ``fit``: ranking skips them."""
        unknown = (codes == UNKNOWN) & (X != self.padding_value)
        if unknown.any():
            rows, clicks = unknown.any(axis=1).sum(), unknown.sum()
            warnings.warn(
                f"{rows} of {len(X)} prefixes in X contain items not seen in fit "
                f"({clicks} click{'s' if clicks > 1 else ''}); "
                f"{'those clicks are' if clicks > 1 else 'that click is'} skipped.",
                UserWarning,
                stacklevel=5,
            )

    # ------------------------------------------------------------------ vocabulary
    def _learn_items(self, X, y):
        """Set ``items_`` (sorted known item ids) from the clicks of X and y."""
        self.items_ = np.unique(np.concatenate([X[X != self.padding_value], y]))
        self.n_items_ = len(self.items_)

    def _encode(self, ids):
        """Item ids (any shape) -> codes: ``items_[i]`` -> i + 1; padding and unknown -> 0.

        A dense lookup table (at most ``ENCODING_TABLE_SIZE`` entries, built per call) serves
        vocabularies of moderate ids; larger ids fall back to binary search.
        """
        ids = np.asarray(ids)
        largest = int(self.items_[-1])
        if largest < ENCODING_TABLE_SIZE:
            table = np.zeros(largest + 2, dtype=np.int64)  # last entry: ids outside the table
            table[self.items_] = np.arange(1, self.n_items_ + 1)
            return table[np.where((ids >= 0) & (ids <= largest), ids, largest + 1)]
        position = np.searchsorted(self.items_, ids)
        inside = position < self.n_items_
        known = inside & (self.items_[np.minimum(position, self.n_items_ - 1)] == ids)
        return np.where(known, position + 1, UNKNOWN).astype(np.int64)

    def _prepare_fit(self, X, y):
        """Validate parameters and data and learn the vocabulary; return encoded (X, y).

        Rows whose prefix holds no click are dropped with a warning.
        """
        self._validate_params()
        X = self._check_X(X, reset=True)
        y = self._check_y(y, len(X))
        empty = self._warn_empty_rows(X, "fit")
        if empty.all():
            raise ValueError("Every prefix in X is empty (all padding): there is nothing to learn.")
        X, y = X[~empty], y[~empty]
        self._learn_items(X, y)
        return self._encode(X), self._encode(y)

    # ------------------------------------------------------------------ prediction
    @abstractmethod
    def _rank(self, codes, k):
        """Top-``k`` item codes minus one (indices into ``items_``), best first.

        codes : int64 (n_samples, max_len), 0 for padding and unknown items.
        Returns int64 (n_samples, min(k, n_items_)).
        """

    def _codes_to_rank(self, X, when="predict"):
        """Checked, encoded prefixes of a fitted model, with warnings for empty rows and
        unknown items: int64 (n_samples, max_len), 0 for padding and unknown items."""
        check_is_fitted(self, "items_")
        X = self._check_X(X, reset=False)
        self._warn_empty_rows(X, when)
        codes = self._encode(X)
        self._warn_unknown_items(X, codes)
        return codes

    def _recommend(self, X, k):
        codes = self._codes_to_rank(X)
        indices = self._rank(codes, min(k, self.n_items_))
        ranked = self.items_[indices]
        if k > self.n_items_:
            fill = np.full((len(X), k - self.n_items_), self.padding_value, dtype=np.int64)
            ranked = np.hstack([ranked, fill])
        return ranked

    def predict(self, X):
        """Recommend items for each prefix.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last.

        Returns
        -------
        recommendations : ndarray of int64, shape (n_samples, n_recommendations)
            Item ids from ``items_``, best first. Where the catalogue holds fewer than
            ``n_recommendations`` items the remaining columns hold ``padding_value``.
        """
        return self._recommend(X, self.n_recommendations)

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
        recommendations = self._recommend(X, 20)
        return recall_at_k(self._check_y(y, len(recommendations)), recommendations, k=20)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = False
        return tags
