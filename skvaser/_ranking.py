"""Exact top-k selection over dense score matrices, with deterministic ties."""

import numpy as np

__all__ = ["top_k"]


def top_k(scores, k, *, max_cells=2**24):
    """Column indices of the ``k`` highest scores of each row, best first.

    Ties are broken towards the lower column index, so the result never depends on the other
    rows or on the batch size. Rows are processed in chunks of at most ``max_cells`` matrix
    cells, which bounds the working memory to about ``16 * max_cells`` bytes.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_columns)
    k : int, 1 <= k <= n_columns

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, k)
    """
    n_rows, n_columns = scores.shape
    out = np.empty((n_rows, k), dtype=np.int64)
    step = max(1, max_cells // max(n_columns, 1))
    for begin in range(0, n_rows, step):
        out[begin : begin + step] = _top_k_chunk(scores[begin : begin + step], k)
    return out


def _top_k_chunk(scores, k):
    n_rows, n_columns = scores.shape
    if scores.dtype.kind in "bu":  # negating unsigned or bool scores would wrap around
        scores = scores.astype(np.float64 if scores.dtype.itemsize == 8 else np.int64)
    if k < n_columns:
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # k-th largest per row
        greater = scores > kth
        equal = scores == kth
        room = k - greater.sum(axis=1, keepdims=True)
        selected = greater | (equal & (np.cumsum(equal, axis=1) <= room))
        columns = np.nonzero(selected)[1].reshape(n_rows, k)  # ascending within each row
    else:
        columns = np.broadcast_to(np.arange(n_columns), (n_rows, n_columns))
    values = np.take_along_axis(scores, columns, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")  # stable: lower column first on ties
    return np.take_along_axis(columns, order, axis=1)
