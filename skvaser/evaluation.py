"""The evaluation protocol of the published tables, from a click log to Recall@20 / MRR@20.

Train on the training sessions; expand every test session into all its prefixes; rank every
item known from training; Recall@20 and MRR@20 over all test prefixes.
"""

import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

from .datasets import (
    load_click_log,
    load_diginetica_views,
    load_yoochoose_clicks,
    make_sessions,
    preprocess,
    sessions_to_prefixes,
)
from .metrics import mrr_at_k, recall_at_k

__all__ = ["load_train_test", "synthetic_train_test", "evaluate_recommender"]


def _select(log, mask):
    return log.session_ids[mask], log.item_ids[mask], log.timestamps[mask]


def load_train_test(path, *, format="auto", test_days=None):
    """Training and test sessions of a click log.

    Parameters
    ----------
    path : str or path-like
        A ``session_id,item_id,timestamp,split`` file (its published split is used), a raw
        ``yoochoose-clicks.dat`` or a raw DIGINETICA ``train-item-views.csv`` (the papers'
        preprocessing is applied: filters, temporal split, unseen test items dropped).
    format : {"auto", "split", "yoochoose", "diginetica"}, default="auto"
        ``"auto"`` decides from the file name.
    test_days : int, optional
        Days of test sessions for raw formats (YOOCHOOSE: 1, DIGINETICA: 7).

    Returns
    -------
    train, test : tuple of 3 ndarrays
        ``(session_ids, item_ids, timestamps)`` of each part, one entry per click.
    report : list of PreprocessingStep
        What each preprocessing step dropped (empty for a published split).
    """
    name = Path(path).name.lower()
    if format == "auto":
        if "yoochoose-clicks" in name or name.endswith(".dat"):
            format = "yoochoose"
        elif "train-item-views" in name:
            format = "diginetica"
        else:
            format = "split"
    if format == "split":
        log = load_click_log(path, split_col="split", missing_time="file_order")
        train = log.split == "train"
        test = log.split == "test"
        if not train.any() or not test.any():
            raise ValueError(
                f"{path} has no 'train' and 'test' rows in its split column; found "
                f"{sorted(set(log.split.tolist()))}."
            )
        return _select(log, train), _select(log, test), []
    if format == "yoochoose":
        log, days = load_yoochoose_clicks(path), 1 if test_days is None else test_days
    elif format == "diginetica":
        log, days = load_diginetica_views(path), 7 if test_days is None else test_days
    else:
        raise ValueError(f"format must be auto, split, yoochoose or diginetica; got {format!r}.")
    parts = preprocess(log.session_ids, log.item_ids, log.timestamps, test_days=days)
    return parts.train, parts.test, parts.report


def synthetic_train_test(n_sessions=6000, n_items=1000, *, test_fraction=0.2, random_state=0):
    """Sessions of :func:`~skvaser.datasets.make_sessions`, the last ``test_fraction`` as test.

    Parameters
    ----------
    n_sessions : int, default=6000
        Number of sessions generated.
    n_items : int, default=1000
        Number of items.
    test_fraction : float, default=0.2
        Share of the sessions, the most recent, that form the test part.
    random_state : int, RandomState instance or None, default=0
        Seed of :func:`~skvaser.datasets.make_sessions`.

    Returns
    -------
    train, test : tuple of 3 ndarrays
        ``(session_ids, item_ids, timestamps)`` of each part.
    """
    sessions, items, times = make_sessions(
        n_sessions=n_sessions, n_items=n_items, random_state=random_state
    )
    test = sessions >= np.quantile(np.unique(sessions), 1 - test_fraction)
    return (sessions[~test], items[~test], times[~test]), (sessions[test], items[test], times[test])


def evaluate_recommender(recommender, train, test, *, max_len=30, k=20):
    """Fit a clone of ``recommender`` on ``train`` sessions and score all prefixes of ``test``.

    The prefixes are padded with the recommender's own ``padding_value``.

    Parameters
    ----------
    recommender : BaseRecommender
    train, test : tuple of 3 array-like
        ``(session_ids, item_ids, timestamps)``.
    max_len : int, default=30
        Prefix window.
    k : int, default=20

    Returns
    -------
    result : dict
        ``recall``, ``mrr`` (fractions), ``fit_seconds``, ``predict_seconds``, ``n_train``,
        ``n_test`` (prefixes) and the fitted ``model``.
    """
    padding = recommender.padding_value
    X_train, y_train, _ = sessions_to_prefixes(*train, max_len=max_len, padding_value=padding)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=max_len, padding_value=padding)
    model = clone(recommender).set_params(n_recommendations=k)
    started = time.perf_counter()
    model.fit(X_train, y_train)
    fitted = time.perf_counter()
    ranked = model.predict(X_test)
    predicted = time.perf_counter()
    return {
        "recall": recall_at_k(y_test, ranked, k=k),
        "mrr": mrr_at_k(y_test, ranked, k=k),
        "fit_seconds": fitted - started,
        "predict_seconds": predicted - fitted,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "model": model,
    }
