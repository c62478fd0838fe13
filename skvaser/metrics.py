"""Top-k accuracy of ranked recommendations: Recall@k, MRR@k and their scorers."""

import numbers

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype
from sklearn.metrics import make_scorer

__all__ = [
    "recall_at_k",
    "mrr_at_k",
    "reciprocal_ranks",
    "make_recall_scorer",
    "make_mrr_scorer",
    "recall_at_20",
    "mrr_at_20",
    "SCORERS",
]


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1; got {k!r}.")
    return int(k)


def _check_ranking(y_true, y_pred, k):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D (n_samples,); got shape {y_true.shape}.")
    if y_pred.ndim != 2:
        raise ValueError(
            f"y_pred must be 2-D (n_samples, n_recommendations) of ranked item ids; "
            f"got shape {y_pred.shape}."
        )
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred have different numbers of samples: {len(y_true)} and {len(y_pred)}."
        )
    if len(y_true) == 0:
        raise ValueError("y_true is empty: there is nothing to score.")
    if y_pred.shape[1] < k:
        raise ValueError(
            f"y_pred ranks {y_pred.shape[1]} items per sample but k={k}; "
            f"ask the recommender for at least k (n_recommendations={k})."
        )
    for name, array in (("y_true", y_true), ("y_pred", y_pred)):
        if array.dtype.kind == "f" and np.isnan(array).any():
            raise ValueError(f"{name} contains NaN.")
    # what pads a ranking (the default -1, None) is never a next item: it would match the
    # padding columns of a ranking shorter than k
    if y_true.dtype.kind in "if":
        padding = y_true < 0
    elif y_true.dtype.kind == "O":
        padding = pd.isna(y_true).astype(bool)
    else:
        padding = np.zeros(len(y_true), dtype=bool)
    if padding.any():
        value = y_true[padding][0]
        value = value.item() if isinstance(value, np.generic) else value
        raise ValueError(
            f"y_true holds {value!r}, which is no item id (it pads the rankings of "
            "recommenders): item ids are non-negative integers or strings; drop those samples."
        )
    top = y_pred[:, :k]
    true_kind, predicted_kind = _id_kind(y_true), _id_kind(top)
    if None not in (true_kind, predicted_kind) and true_kind != predicted_kind:
        raise TypeError(
            f"y_true holds {true_kind} item ids but y_pred holds {predicted_kind} ones, so no "
            "target can be found: give both one type (e.g. .astype(str) on both)."
        )
    return y_true, top


#: pandas' kinds of item ids -> the kinds that can never equal each other.
_ID_KINDS = {"integer": "numeric", "floating": "numeric", "mixed-integer-float": "numeric",
             "string": "string", "bytes": "bytes"}


def _id_kind(ids):
    """``"numeric"``, ``"string"`` or ``"bytes"`` ids (padding such as None aside), or None
    when the kind is not one of those (typed arrays are read from their dtype)."""
    return _ID_KINDS.get(infer_dtype(ids.ravel(), skipna=True))


def reciprocal_ranks(y_true, y_pred, *, k=20):
    """1 / rank of each target within the first ``k`` recommendations, 0 when absent.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The next item of each sample.
    y_pred : array-like of shape (n_samples, n_recommendations)
        Recommended item ids, best first; ``n_recommendations >= k``.
    k : int, default=20

    Returns
    -------
    rr : ndarray of float64, shape (n_samples,)
    """
    k = _check_k(k)
    y_true, top = _check_ranking(y_true, y_pred, k)
    hit = top == y_true[:, None]
    found = hit.any(axis=1)
    rank = hit.argmax(axis=1) + 1  # first occurrence counts
    return np.where(found, 1.0 / rank, 0.0)


def recall_at_k(y_true, y_pred, *, k=20):
    """Share of samples whose target is among the first ``k`` recommendations.

    Also called HitRate@k or P@k in the session-based literature. A target the model never saw
    is a miss.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The next item of each sample.
    y_pred : array-like of shape (n_samples, n_recommendations)
        Recommended item ids, best first; ``n_recommendations >= k``.
    k : int, default=20
        Cut-off.

    Returns
    -------
    recall : float in [0, 1]

    Examples
    --------
    >>> from skvaser.metrics import recall_at_k
    >>> recall_at_k([3, 5], [[1, 3], [2, 4]], k=2)
    0.5
    """
    k = _check_k(k)
    y_true, top = _check_ranking(y_true, y_pred, k)
    return float((top == y_true[:, None]).any(axis=1).mean())


def mrr_at_k(y_true, y_pred, *, k=20):
    """Mean reciprocal rank of the target within the first ``k`` recommendations (0 beyond).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The next item of each sample.
    y_pred : array-like of shape (n_samples, n_recommendations)
        Recommended item ids, best first; ``n_recommendations >= k``.
    k : int, default=20
        Cut-off.

    Returns
    -------
    mrr : float in [0, 1]

    Examples
    --------
    >>> from skvaser.metrics import mrr_at_k
    >>> mrr_at_k([3, 5], [[1, 3], [5, 4]], k=2)
    0.75
    """
    return float(reciprocal_ranks(y_true, y_pred, k=k).mean())


def make_recall_scorer(k=20):
    """Scorer (``scorer(estimator, X, y)``) of Recall@k on ``estimator.predict(X)``.

    Parameters
    ----------
    k : int, default=20
        Cut-off; the estimator must return at least ``k`` recommendations
        (``n_recommendations >= k``).

    Returns
    -------
    scorer : callable
        A scorer of :func:`sklearn.metrics.make_scorer` that computes :func:`recall_at_k`.
    """
    return make_scorer(recall_at_k, k=_check_k(k))


def make_mrr_scorer(k=20):
    """Scorer (``scorer(estimator, X, y)``) of MRR@k on ``estimator.predict(X)``.

    Parameters
    ----------
    k : int, default=20
        Cut-off; the estimator must return at least ``k`` recommendations
        (``n_recommendations >= k``).

    Returns
    -------
    scorer : callable
        A scorer of :func:`sklearn.metrics.make_scorer` that computes :func:`mrr_at_k`.
    """
    return make_scorer(mrr_at_k, k=_check_k(k))


#: Scorer of Recall@20: ``recall_at_20(estimator, X, y)``, ``make_recall_scorer(20)``.
recall_at_20 = make_recall_scorer(20)
#: Scorer of MRR@20: ``mrr_at_20(estimator, X, y)``, ``make_mrr_scorer(20)``.
mrr_at_20 = make_mrr_scorer(20)

#: The two scores of the published tables, for ``scoring=`` in GridSearchCV or cross_validate.
SCORERS = {"recall@20": recall_at_20, "mrr@20": mrr_at_20}
