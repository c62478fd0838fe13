"""Exact top-k selection over score matrices, with deterministic ties.

Two implementations of one rule -- the ``k`` highest scores of each row, best first, ties broken
towards the lower column -- so that, given its scores, a row's selection never depends on the
other rows, on the batch size or on how the columns were chunked (the scores of the neural
models themselves come from batched float32 products, whose rounding may differ with the batch:
see the user guide's "Serving recommendations"):

- :func:`top_k` on NumPy arrays (the neighbourhood models), in blocks of at most ``max_cells``
  cells: whole rows when they fit, else column chunks merged into a running top-k;
- :func:`rank_items` (and :func:`top_k_scores`, its columns) on PyTorch tensors (the neural
  models), which scores a batch of queries against the item weights in item chunks and merges
  them into a running top-k, so the (n_rows, n_items) score matrix is never built; it applies
  the candidate filters inside each chunk.
"""

import numpy as np
import torch

__all__ = ["top_k", "top_k_scores", "rank_items", "SCORE_ITEMS"]

#: Items scored at once by :func:`top_k_scores` (columns of one score chunk).
SCORE_ITEMS = 2**18


def top_k(scores, k, *, max_cells=2**24):
    """Column indices of the ``k`` highest scores of each row, best first.

    Ties are broken towards the lower column index, so the result never depends on the other
    rows or on the batch size. Rows are processed in chunks of at most ``max_cells`` matrix
    cells; a row wider than that is processed in column chunks of ``max(k, max_cells)``
    columns whose top ``k`` are merged, with the same result. The working memory is therefore
    about ``16 * max(max_cells, 2 * k)`` bytes per row chunk, whatever the number of columns.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_columns)
    k : int, 1 <= k <= n_columns
    max_cells : int, default=2**24

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, k)
    """
    n_rows, n_columns = scores.shape
    out = np.empty((n_rows, k), dtype=np.int64)
    if n_columns > max(max_cells, k):  # one row does not fit: merge column chunks
        width = max(max_cells, k)
        for row in range(n_rows):  # rows this wide are few: this loop is not the hot path
            out[row] = _merged_top_k(scores[row : row + 1], k, width)[0]
        return out
    step = max(1, max_cells // max(n_columns, 1))
    for begin in range(0, n_rows, step):
        out[begin : begin + step] = _top_k_chunk(scores[begin : begin + step], k)
    return out


def _sortable(scores):
    if scores.dtype.kind in "bu":  # negating unsigned or bool scores would wrap around
        return scores.astype(np.float64 if scores.dtype.itemsize == 8 else np.int64)
    return scores


def _merged_top_k(scores, k, width):
    """Top ``k`` of ``scores`` computed ``width`` columns at a time, merged (lower column wins)."""
    best_columns = best_values = None
    for begin in range(0, scores.shape[1], width):
        chunk = _sortable(scores[:, begin : begin + width])
        columns = _top_k_chunk(chunk, min(k, chunk.shape[1]))
        values = np.take_along_axis(chunk, columns, axis=1)
        columns = columns + begin
        if best_columns is not None:
            # earlier chunks hold lower columns and come first: a stable sort keeps ties in
            # column order
            columns = np.hstack([best_columns, columns])
            values = np.hstack([best_values, values])
            order = np.argsort(-values, axis=1, kind="stable")[:, :k]
            columns = np.take_along_axis(columns, order, axis=1)
            values = np.take_along_axis(values, order, axis=1)
        best_columns, best_values = columns, values
    return best_columns


def _top_k_chunk(scores, k):
    n_rows, n_columns = scores.shape
    scores = _sortable(scores)
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


# ---------------------------------------------------------------------- PyTorch
def _tensor_top_k(scores, k):
    """(values, columns) of the ``k`` highest scores of each row of a 2-D tensor, best first.

    Ties go to the lower column. ``torch.topk`` picks among tied values arbitrarily, so it is
    asked for one score more: where the (k+1)-th score is below the k-th, the selection is the
    only one and is just sorted by (score descending, column ascending); the rare rows where
    they tie are ranked again with a stable sort (a quarter of the rows at a time). NaN ranks
    highest, as in ``torch.topk`` and ``torch.sort``.
    """
    n_columns = scores.shape[1]
    values, columns = torch.topk(scores, min(k + 1, n_columns), dim=1)
    if k < n_columns:
        after, kth = values[:, k], values[:, k - 1]
        tied = torch.nonzero((after == kth) | torch.isnan(after)).flatten()
        values, columns = values[:, :k], columns[:, :k]
    else:
        tied = columns.new_empty(0)
    columns, order = columns.sort(dim=1)
    values, order = values.gather(1, order).sort(dim=1, descending=True, stable=True)
    columns = columns.gather(1, order)
    step = max(1, len(scores) // 4)
    for begin in range(0, len(tied), step):
        rows = tied[begin : begin + step]
        exact_values, exact_columns = scores[rows].sort(dim=1, descending=True, stable=True)
        values[rows], columns[rows] = exact_values[:, :k], exact_columns[:, :k]
    return values, columns


def top_k_scores(query, weights, k, *, item_chunk=SCORE_ITEMS):
    """Columns of the ``k`` highest of ``query @ weights.T`` in each row, best first: the
    columns of :func:`rank_items` without filters (LongTensor (n_rows, k))."""
    return rank_items(query, weights, k, item_chunk=item_chunk)[1]


def rank_items(query, weights, k, *, item_chunk=SCORE_ITEMS, allowed=None, exclude=None):
    """Values and columns of the ``k`` highest of ``query @ weights.T`` in each row, best first.

    The scores are computed ``item_chunk`` items at a time and merged into a running top-k
    (ties go to the lower column), so the result equals a top-k over the whole score matrix
    while at most ``len(query) * item_chunk`` scores exist at once. The chunk boundaries depend
    only on ``item_chunk``, never on the batch, so a row's ranking does not depend on the other
    rows of the batch. Filtered-out items get the score -inf inside each chunk, so the top-k
    holds the best candidates; where a row has fewer than ``k`` candidates, its last columns
    are -1 with value -inf.

    Working memory, for float32 scores: about 4 bytes per cell of a ``len(query) *
    min(item_chunk, n_items)`` chunk (the scores), up to 8 bytes where scores tie at the k-th
    (those rows are re-sorted, a quarter of the rows at a time: a copy, sorted values and int64
    indices, 16 bytes per cell of those rows), plus about ``40 * len(query) * k`` bytes for
    the running top-k.

    Parameters
    ----------
    query : Tensor of shape (n_rows, dim)
    weights : Tensor of shape (n_items, dim)
    k : int, 1 <= k <= n_items
    item_chunk : int, default=SCORE_ITEMS
    allowed : BoolTensor of shape (n_items,), default=None
        The only columns that may be returned (None: all).
    exclude : LongTensor of shape (n_rows, n_excluded), default=None
        Columns each row must not return; -1 entries are ignored.

    Returns
    -------
    values : Tensor of shape (n_rows, k)
    columns : LongTensor of shape (n_rows, k)
        Indices into ``weights``.
    """
    n_items = len(weights)
    width = max(int(item_chunk), k)
    best_values = best_columns = None
    for begin in range(0, n_items, width):
        scores = query @ weights[begin : begin + width].T
        if allowed is not None:
            scores.masked_fill_(~allowed[begin : begin + width], -torch.inf)
        if exclude is not None:
            local = exclude - begin
            inside = (exclude >= 0) & (local < scores.shape[1]) & (local >= 0)
            row = torch.arange(len(scores), device=scores.device)[:, None].expand_as(local)
            scores[row[inside], local[inside]] = -torch.inf
        values, columns = _tensor_top_k(scores, min(k, scores.shape[1]))
        del scores
        columns += begin
        if best_values is not None:
            # earlier chunks hold lower columns and come first: the stable sort keeps ties in
            # column order
            values = torch.cat([best_values, values], dim=1)
            columns = torch.cat([best_columns, columns], dim=1)
            values, order = values.sort(dim=1, descending=True, stable=True)
            values, columns = values[:, :k], columns.gather(1, order[:, :k])
        best_values, best_columns = values, columns
    if allowed is not None or exclude is not None:
        best_columns.masked_fill_(best_values == -torch.inf, -1)
    return best_values, best_columns
