"""Item-KNN: item-to-item similarity of session co-occurrence, scored from the last click(s)."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._ranking import top_k
from .base import BaseRecommender

__all__ = ["ItemKNNRecommender"]

#: Cells of the dense blocks that rank sparse rows (about 16 bytes each), and entries of one
#: sparse score block: they bound the working memory of ``fit`` and ``predict``.
_MAX_CELLS = 2**22
_MAX_ENTRIES = 2**23


class ItemKNNRecommender(BaseRecommender):
    """Item-to-item nearest neighbours of session co-occurrence (the Item-KNN baseline).

    Two items are similar when they are clicked in the same sessions. Each item keeps its
    ``n_neighbors`` most similar items; a prefix is scored with the similarity row of its last
    click (or, with ``use_all_clicks=True``, a decayed sum over the rows of all its clicks). Items
    without a similarity score follow in order of popularity, so every item is ranked.

    Parameters
    ----------
    n_neighbors : int, default=100
        Number of most similar items kept per item.
    alpha : float in [0, 1], default=0.5
        Asymmetry of the normalisation: ``alpha = 0.5`` is the regularised cosine; larger values
        penalise popular *source* items more, smaller values popular *candidate* items.
    shrinkage : float >= 0, default=20.0
        The regularisation λ added to the session support of both items, which damps the
        similarity of items seen in few sessions.
    use_all_clicks : bool, default=False
        Score from every click of the prefix, newer clicks weighted more (see ``decay``),
        instead of from the last click only.
    decay : {"harmonic", "linear", "none"}, default="harmonic"
        Weight of a click ``p`` positions before the newest one (``p = 0`` for the newest) of a
        prefix of ``n`` clicks, used when ``use_all_clicks=True``: ``"harmonic"`` ``1 / (p + 1)``,
        ``"linear"`` ``(n - p) / n``, ``"none"`` 1.
    n_recommendations : int, default=20
        Number of items returned per prefix by :meth:`predict`.
    padding_value : int, default=-1
        The negative value that left-pads prefixes in ``X``.

    Attributes
    ----------
    items_ : ndarray of int64, shape (n_items,)
        The item ids seen in ``fit``, sorted.
    n_items_ : int
        Number of known items.
    n_features_in_ : int
        Width of the prefixes seen in ``fit`` (their ``max_len``).
    n_sessions_ : int
        Number of training sessions the similarity was counted on (see Notes).
    item_popularity_ : ndarray of int64, shape (n_items,)
        Number of training sessions that contain each item of ``items_`` (its support ``s_i``).
    similarity_ : scipy.sparse.csr_array of float64, shape (n_items, n_items)
        Pruned similarity: row ``i`` holds the (at most) ``n_neighbors`` items most similar to
        ``items_[i]``, indexed like ``items_``. Built on access from the internal matrix, whose
        columns are in order of popularity.

    See Also
    --------
    skvaser.datasets.sessions_to_prefixes : Builds the ``X``, ``y`` and ``groups`` this model
        is fitted on.
    skvaser.metrics.SCORERS : Recall@20 and MRR@20 for model selection.

    Notes
    -----
    With ``c_ij`` the number of training sessions that contain both items, ``s_i`` the number that
    contain item ``i``, λ = ``shrinkage`` and α = ``alpha``, the similarity of a candidate ``j`` to
    a clicked item ``i`` is

    .. math:: \\mathrm{sim}(i, j) = \\frac{c_{ij}}{(s_i + \\lambda)^{\\alpha}
              (s_j + \\lambda)^{1 - \\alpha}},  \\qquad \\mathrm{sim}(i, i) = 0,

    the item-to-item kNN of Sarwar et al. [1]_ in the session form of Hidasi et al. [2]_, the
    "Item-KNN" row of the NARM, STAMP, SR-GNN and VASER tables. Co-occurrence is counted with one
    sparse product ``Bᵀ B`` of the binary session-item matrix ``B`` and pruned row-wise.

    **Sessions from prefix samples.** ``fit`` sees the ``n - 1`` prefix samples of each session,
    not the sessions. Counting every row (prefix + target) as a session would count a pair of
    clicks once per later click of its session and favour long sessions: on YOOCHOOSE 1/64 that
    gives Recall@20 / MRR@20 50.25 / 20.97, below the published 51.60 / 21.81. So the sessions
    are rebuilt instead: for every window of clicks, the rows that reach it (prefix + target)
    minus the rows that continue from it (their prefix equals it) are the sessions that end
    there, and those rows' clicks are the sessions' clicks. This is exact, whatever the order of
    the rows, when no session is longer than ``max_len`` clicks (the width of ``X``); a longer
    session keeps its newest ``max_len + 1`` clicks. With the defaults this gives 53.03 / 22.43
    on YOOCHOOSE 1/64 and 37.30 / 11.99 on DIGINETICA (published 35.75 / 11.57). Passing
    ``groups`` (the session of each row, as returned by
    :func:`~skvaser.datasets.sessions_to_prefixes`) uses every click of the true sessions
    instead: 52.78 / 22.33 and 37.27 / 11.99, so the window costs nothing. ``GridSearchCV`` hands
    ``groups`` to its splitter only (unless metadata routing asks for them), so cross-validation
    uses the rebuilt sessions.

    **Ranking.** Items are ranked by score; ties, including all items without a score, are broken
    towards the more popular item (higher ``item_popularity_``), then the lower item id. An
    unknown last click or an empty prefix therefore gets the most popular items. The item itself
    is never its own neighbour. Ranking works on the sparse score rows, never on a dense
    (n_samples, n_items) matrix, so memory stays bounded by ``n_neighbors``.

    References
    ----------
    .. [1] B. Sarwar, G. Karypis, J. Konstan and J. Riedl, "Item-based collaborative filtering
       recommendation algorithms", WWW 2001.
    .. [2] B. Hidasi, A. Karatzoglou, L. Baltrunas and D. Tikk, "Session-based recommendations
       with recurrent neural networks", ICLR 2016.

    Examples
    --------
    Three sessions, ``10 11 12``, ``10 11`` and ``12 13``, expanded into prefix samples:

    >>> from skvaser.datasets import sessions_to_prefixes
    >>> from skvaser.neighbors import ItemKNNRecommender
    >>> X, y, groups = sessions_to_prefixes(
    ...     [0, 0, 0, 1, 1, 2, 2], [10, 11, 12, 10, 11, 12, 13], max_len=3
    ... )
    >>> model = ItemKNNRecommender(n_recommendations=3).fit(X, y)
    >>> model.n_sessions_, model.item_popularity_
    (3, array([2, 2, 2, 1]))
    >>> model.predict([[-1, -1, 10], [-1, 12, 13], [-1, -1, 99]])
    array([[11, 12, 10],
           [12, 10, 11],
           [10, 11, 12]])

    After 10 comes 11 (two shared sessions), then 12 (one), then the most popular of the rest;
    the unknown item 99 gets the most popular items.
    """

    # With metadata routing on, groups reach fit only after set_fit_request(groups=True): the
    # same rebuilt sessions as without routing, and no error where a splitter consumes groups.
    __metadata_request__fit = {"groups": False}

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "use_all_clicks": ["boolean"],
        "decay": [StrOptions({"linear", "harmonic", "none"})],
    }

    def __init__(
        self,
        *,
        n_neighbors=100,
        alpha=0.5,
        shrinkage=20.0,
        use_all_clicks=False,
        decay="harmonic",
        n_recommendations=20,
        padding_value=-1,
    ):
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.use_all_clicks = use_all_clicks
        self.decay = decay
        self.n_recommendations = n_recommendations
        self.padding_value = padding_value

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None):
        """Count session co-occurrence and keep each item's nearest neighbours.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last.
        y : array-like of shape (n_samples,)
            The click that followed each prefix.
        groups : array-like of shape (n_samples,), default=None
            Session of each row. When None the sessions are rebuilt from the rows (see Notes).
            With metadata routing enabled, meta-estimators pass it only after
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self : ItemKNNRecommender
            The fitted recommender.
        """
        if groups is not None:
            groups = np.asarray(groups)
            if groups.ndim != 1 or len(groups) != len(X):
                raise ValueError(
                    f"groups must be 1-D with one session per row of X ({len(X)}); "
                    f"got shape {groups.shape}."
                )
        codes, targets = self._prepare_fit(X, y)
        if groups is not None:
            groups = groups[~(np.asarray(X) == self.padding_value).all(axis=1)]
        sessions = self._session_item_matrix(codes, targets, groups)

        support = np.asarray(sessions.sum(axis=0)).ravel().astype(np.int64)
        order = np.argsort(-support, kind="stable")  # internal column -> index into items_
        rank = np.empty_like(order)
        rank[order] = np.arange(self.n_items_)
        sessions.indices = rank[sessions.indices].astype(sessions.indices.dtype)
        sessions.has_sorted_indices = False

        self._similarity = self._neighbours(sessions, support[order])
        self._order = order
        self._rank_of = rank
        self.item_popularity_ = support
        self.n_sessions_ = sessions.shape[0]
        return self

    def _session_item_matrix(self, codes, targets, groups):
        """Binary (n_sessions, n_items) CSR matrix of the training sessions, in items_ order."""
        clicks = np.hstack([codes, targets[:, None]])
        if groups is None:
            ends = np.flatnonzero(_session_ends(codes, targets))
            clicks, session = clicks[ends], np.arange(len(ends))
            n_sessions = len(ends)
        else:
            _, session = np.unique(groups, return_inverse=True)
            n_sessions = int(session.max()) + 1
        row, column = np.nonzero(clicks)
        matrix = sp.csr_array(
            (np.ones(len(row)), (session[row], clicks[row, column] - 1)),
            shape=(n_sessions, self.n_items_),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix

    def _neighbours(self, sessions, support):
        """Pruned similarity (n_items, n_items) CSR in internal (popularity) order."""
        cooccurrence = sp.csr_array(sessions.T @ sessions)
        cooccurrence.sum_duplicates()
        cooccurrence.sort_indices()
        row = np.repeat(np.arange(self.n_items_), np.diff(cooccurrence.indptr))
        column = cooccurrence.indices
        off_diagonal = row != column
        row, column = row[off_diagonal], column[off_diagonal]
        shrunk = support.astype(np.float64) + self.shrinkage
        source, candidate = shrunk**self.alpha, shrunk ** (1.0 - self.alpha)
        value = cooccurrence.data[off_diagonal] / (source[row] * candidate[column])
        similarity = sp.csr_array((value, (row, column)), shape=cooccurrence.shape)
        similarity.eliminate_zeros()
        similarity.sort_indices()
        # keep the n_neighbors best of each row, ties to the more popular (lower) column
        best, best_value, valid = _sparse_top_k(similarity, min(self.n_neighbors, self.n_items_))
        pruned = sp.csr_array(
            (best_value[valid], (np.nonzero(valid)[0], best[valid])), shape=similarity.shape
        )
        pruned.sort_indices()
        return pruned

    @property
    def similarity_(self):
        check_is_fitted(self, "items_")
        mapped = sp.csr_array(self._similarity.copy())
        mapped = mapped[self._rank_of][:, self._rank_of]
        mapped.sort_indices()
        return sp.csr_array(mapped)

    # ------------------------------------------------------------------ scoring
    def _click_weights(self, codes):
        """Sparse (n_samples, n_items) weights of the clicks of each prefix, internal order."""
        n_samples, width = codes.shape
        if not self.use_all_clicks:
            row = np.flatnonzero(codes[:, -1])
            column = codes[row, -1] - 1
            weight = np.ones(len(row))
        else:
            row, position = np.nonzero(codes)
            column = codes[row, position] - 1
            back = width - 1 - position  # clicks before the newest one
            if self.decay == "linear":
                # leading unknown clicks are indistinguishable from padding here
                first = np.where(codes.any(axis=1), (codes != 0).argmax(axis=1), width)
                length = width - first
                weight = (length[row] - back) / length[row]
            elif self.decay == "harmonic":
                weight = 1.0 / (back + 1.0)
            else:
                weight = np.ones(len(row))
        return sp.csr_array(
            (weight, (row, self._rank_of[column])), shape=(n_samples, self.n_items_)
        )

    def _rank(self, codes, k):
        weights = self._click_weights(codes)
        neighbours = np.diff(self._similarity.indptr)
        bound = np.bincount(
            np.repeat(np.arange(len(codes)), np.diff(weights.indptr)),
            weights=neighbours[weights.indices],
            minlength=len(codes),
        )
        cumulative = np.cumsum(bound)
        out = np.empty((len(codes), k), dtype=np.int64)
        begin = 0
        while begin < len(codes):  # blocks of rows whose score entries fit _MAX_ENTRIES
            offset = cumulative[begin - 1] if begin else 0
            end = max(begin + 1, int(np.searchsorted(cumulative, offset + _MAX_ENTRIES, "right")))
            scores = sp.csr_array(weights[begin:end] @ self._similarity)
            out[begin:end] = _rank_with_popularity(scores, k)
            begin = end
        return self._order[out]


def _rank_with_popularity(scores, k):
    """Top-k internal columns of sparse non-negative score rows; unscored columns in column order.

    Columns are in order of popularity, so breaking ties towards the lower column breaks them
    towards the more popular item, for scored and unscored items alike.
    """
    scores.eliminate_zeros()
    scores.sort_indices()
    n_rows = scores.shape[0]
    best, _, valid = _sparse_top_k(scores, k)
    present = np.zeros((n_rows, k), dtype=bool)  # which of the k most popular columns scored
    row = np.repeat(np.arange(n_rows), np.diff(scores.indptr))
    low = scores.indices < k
    present[row[low], scores.indices[low]] = True
    candidates = np.hstack([best, np.broadcast_to(np.arange(k), (n_rows, k))])
    invalid = np.hstack([~valid, present])
    pick = np.argsort(invalid, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, pick, axis=1)


def _sparse_top_k(matrix, k):
    """Columns of the k largest stored values of each CSR row (sorted indices), best first.

    Ties go to the lower column. Returns ``columns`` (n_rows, k) int64, their ``values``
    (n_rows, k) float64 and ``valid`` (n_rows, k) bool, False where a row stores fewer than k
    values. Rows are ranked in blocks of similar
    length, padded to dense, so no Python loop runs over rows or entries.
    """
    n_rows = matrix.shape[0]
    columns = np.zeros((n_rows, k), dtype=np.int64)
    values = np.zeros((n_rows, k))
    valid = np.zeros((n_rows, k), dtype=bool)
    lengths = np.diff(matrix.indptr)
    by_length = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[by_length]
    begin = int(np.searchsorted(sorted_lengths, 0, "right"))  # empty rows stay invalid
    while begin < n_rows:
        # the longest block whose rows, padded to its longest, fit in _MAX_CELLS
        cells = np.arange(1, n_rows - begin + 1) * np.maximum(sorted_lengths[begin:], 1)
        end = begin + max(1, int(np.searchsorted(cells, _MAX_CELLS, "right")))
        rows = by_length[begin:end]
        width = int(sorted_lengths[end - 1])
        length = lengths[rows]
        slot = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
        source = np.repeat(matrix.indptr[rows], length) + slot
        block_row = np.repeat(np.arange(len(rows)), length)
        dense = np.full((len(rows), width), -np.inf)
        dense[block_row, slot] = matrix.data[source]
        dense_columns = np.zeros((len(rows), width), dtype=np.int64)
        dense_columns[block_row, slot] = matrix.indices[source]
        kk = min(k, width)
        position = top_k(dense, kk)
        columns[rows, :kk] = np.take_along_axis(dense_columns, position, axis=1)
        values[rows, :kk] = np.take_along_axis(dense, position, axis=1)
        valid[rows, :kk] = position < length[:, None]
        begin = end
    return columns, values, valid


def _session_ends(codes, targets):
    """Rows that end a session: their prefix + target is continued by fewer rows than reach it.

    A row's "reach" key is its window after the target (prefix without its oldest slot, then the
    target); a row continues a key when its prefix equals it. For each key, the number of sessions
    that end there is the number of rows that reach it minus the number of rows that continue it;
    that many of the rows reaching it are marked (the first ones in row order).
    """
    n_rows, width = codes.shape

    def keys(index):  # rows of the stacked [reach keys; prefix keys], for index in [0, 2 n_rows)
        row = index % n_rows
        reach = np.hstack([codes[row, 1:], targets[row, None]])
        return np.where((index < n_rows)[:, None], reach, codes[row])

    label = _row_labels(
        lambda multipliers: np.concatenate(
            [
                codes[:, 1:].view(np.uint64) @ multipliers[:-1]
                + targets.view(np.uint64) * multipliers[-1],
                codes.view(np.uint64) @ multipliers,
            ]
        ),
        keys,
        2 * n_rows,
        width,
    )
    n_keys = int(label.max()) + 1 if n_rows else 0
    reached = np.bincount(label[:n_rows], minlength=n_keys)
    continued = np.bincount(label[n_rows:], minlength=n_keys)
    ending = np.maximum(reached - continued, 0)
    key = label[:n_rows]
    by_key = np.argsort(key, kind="stable")
    first_of_key = np.searchsorted(key[by_key], key[by_key])  # start of each row's key run
    nth = np.empty(n_rows, dtype=np.int64)
    nth[by_key] = np.arange(n_rows) - first_of_key
    return nth < ending[key]


def _row_labels(hash_rows, rows, n_rows, width, *, block=2**16):
    """Label equal rows of an integer matrix with equal consecutive integers, exactly.

    The matrix is given implicitly: ``hash_rows(multipliers)`` returns the hash ``rows @
    multipliers`` (uint64, wrapping) of every row and ``rows(index)`` the int64 rows at
    ``index``. Rows are grouped by hash; rows with equal hashes are compared (in blocks of
    ``block`` pairs), and a collision falls back to an exact sort of the rows.
    """
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    multipliers = np.random.default_rng(20011).integers(1, 2**63, width, dtype=np.uint64)
    hashed = hash_rows(multipliers | np.uint64(1))
    order = np.argsort(hashed, kind="stable")
    same_hash = hashed[order][1:] == hashed[order][:-1]
    pair = np.flatnonzero(same_hash)
    for begin in range(0, len(pair), block):
        chunk = pair[begin : begin + block]
        if (rows(order[chunk]) != rows(order[chunk + 1])).any():  # a hash collision
            matrix = np.ascontiguousarray(rows(np.arange(n_rows)))
            as_bytes = matrix.view(np.dtype((np.void, 8 * width))).ravel()
            return np.unique(as_bytes, return_inverse=True)[1].ravel()
    label = np.empty(n_rows, dtype=np.int64)
    label[order] = np.concatenate([[0], np.cumsum(~same_hash)])
    return label
