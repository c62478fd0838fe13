"""Neighbourhood recommenders on session co-occurrence: Item-KNN and session-kNN (V-SKNN)."""

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._progress import progress
from ._ranking import top_k
from ._sklearn import Interval, StrOptions
from .base import RANKING_PARAMETERS, BaseRecommender, unchanged_on_error

__all__ = ["ItemKNNRecommender", "SessionKNNRecommender"]

#: Cells of the dense blocks that rank sparse rows (about 16 bytes each), and entries of one
#: sparse score block: they bound the working memory of ``fit`` and ``predict``.
_MAX_CELLS = 2**22
_MAX_ENTRIES = 2**23
#: Clicks back beyond which the match decay of SessionKNNRecommender no longer changes
#: (``4 ** -_MAX_BACK`` stays a normal float64).
_MAX_BACK = 500


class ItemKNNRecommender(BaseRecommender):
    __doc__ = f"""Item-to-item nearest neighbours of session co-occurrence (the Item-KNN baseline).

    Two items are similar when they are clicked in the same sessions. Each item keeps its
    ``n_neighbors`` most similar items; a prefix is scored with the similarity row of its last
    click (or, with ``use_all_clicks=True``, a decayed sum over the rows of all its clicks),
    clicks on items unknown to the model skipped. Items without a similarity score follow in
    order of popularity, so every item is ranked.

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
    decay : {{"harmonic", "linear", "none"}}, default="harmonic"
        Weight of a click ``p`` positions before the newest one (``p = 0`` for the newest) of a
        prefix of ``n`` clicks, used when ``use_all_clicks=True``: ``"harmonic"`` ``1 / (p + 1)``,
        ``"linear"`` ``(n - p) / n``, ``"none"`` 1.
    {RANKING_PARAMETERS}
    verbose : int, default=0
        Print the time of each step of ``fit`` and, when ``predict`` ranks many prefixes, its
        progress (a bar on a terminal, plain lines elsewhere).

    Attributes
    ----------
    items_ : ndarray of shape (n_items,)
        The item ids seen in ``fit``, sorted: int64 for integer ids, object otherwise.
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

    .. math:: \\mathrm{{sim}}(i, j) = \\frac{{c_{{ij}}}}{{(s_i + \\lambda)^{{\\alpha}}
              (s_j + \\lambda)^{{1 - \\alpha}}}},  \\qquad \\mathrm{{sim}}(i, i) = 0,

    the item-to-item kNN of Sarwar et al. [1]_ in the session form of Hidasi et al. [2]_, the
    "Item-KNN" row of the NARM, STAMP, SR-GNN and VASER tables. Co-occurrence is counted with one
    sparse product ``Bᵀ B`` of the binary session-item matrix ``B`` and pruned row-wise.

    **Sessions from prefix samples.** ``fit`` sees the ``n - 1`` prefix samples of each session,
    not the sessions. Counting every row (prefix + target) as a session would count a pair of
    clicks once per later click of its session and favour long sessions: on YOOCHOOSE 1/64 that
    gives Recall@20 / MRR@20 50.31 / 20.99, below the published 51.60 / 21.81. So the sessions
    are rebuilt instead: for every window of clicks, the rows that reach it (prefix + target)
    minus the rows that continue from it (their prefix equals it) are the sessions that end
    there, and those rows' clicks are the sessions' clicks. This is exact, whatever the order of
    the rows, when no session is longer than ``max_len`` clicks (the width of ``X``). The rows
    of a longer session do not say where it began: it keeps at most its newest ``max_len + 1``
    clicks, and where a window of its clicks is also another session's, or its own earlier one
    (a loop such as ``a b a b a`` over ``max_len=2``), clicks may pass from one rebuilt session
    to another, or a session be lost. With the defaults this gives 53.09 / 22.46
    on YOOCHOOSE 1/64 and 37.30 / 11.99 on DIGINETICA (published 35.75 / 11.57). Passing
    ``groups`` (the session of each row, as returned by
    :func:`~skvaser.datasets.sessions_to_prefixes`) uses every click of the true sessions
    instead: 52.84 / 22.35 and 37.27 / 11.99, so the window costs nothing
    (``python benchmarks/itemknn.py --sessions``). ``GridSearchCV`` hands
    ``groups`` to its splitter only (unless metadata routing asks for them), so cross-validation
    uses the rebuilt sessions.

    **Ranking.** Items are ranked by score; ties, including all items without a score, are broken
    towards the more popular item (higher ``item_popularity_``), then the lower item id. A
    prefix without a known click therefore gets the most popular items. The item itself
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
    >>> model.predict([[-1, -1, 10], [-1, 12, 13], [-1, 10, 99], [-1, -1, 99]])
    array([[11, 12, 10],
           [12, 10, 11],
           [11, 12, 10],
           [10, 11, 12]])

    After 10 comes 11 (two shared sessions), then 12 (one), then the most popular of the rest;
    the unknown item 99 is skipped (a warning says so), so ``10 99`` is answered as ``10``, and
    a prefix of unknown items alone gets the most popular items.
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
        "verbose": ["verbose"],
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
        exclude_seen=False,
        handle_unknown="warn",
        padding_value=-1,
        verbose=0,
    ):
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.use_all_clicks = use_all_clicks
        self.decay = decay
        self.n_recommendations = n_recommendations
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.padding_value = padding_value
        self.verbose = verbose

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
        with unchanged_on_error(self):
            started = time.perf_counter()
            sessions, _ = _training_sessions(self, X, y, groups)
            sessions, support, order, rank = _by_popularity(sessions)
            _say(self, f"{sessions.shape[0]:,} sessions of {self.n_items_:,} items", started)
            started = time.perf_counter()
            self._similarity = self._neighbours(sessions, support[order])
            _say(self, f"similarities, {self._similarity.nnz:,} kept", started)
            self._order = order
            self._rank_of = rank
            self._popularity_order = order  # cold start: the items of the most sessions
            self.item_popularity_ = support
            self.n_sessions_ = sessions.shape[0]
        return self

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
        if not self.use_all_clicks:  # the newest known click: unknown ones are skipped
            newest = width - 1 - np.argmax(codes[:, ::-1] != 0, axis=1)
            last = codes[np.arange(n_samples), newest]
            row = np.flatnonzero(last)
            column = last[row] - 1
            weight = np.ones(len(row))
        else:
            row, column, weight, _ = _decayed_clicks(codes, self.decay)
        return sp.csr_array(
            (weight, (row, self._rank_of[column])), shape=(n_samples, self.n_items_)
        )

    def _rank(self, codes, k, *, allowed, exclude_seen):
        weights = self._click_weights(codes)
        neighbours = np.diff(self._similarity.indptr)
        bound = np.bincount(
            np.repeat(np.arange(len(codes)), np.diff(weights.indptr)),
            weights=neighbours[weights.indices],
            minlength=len(codes),
        )
        ranking = _FilteredRanking(self, codes, k, allowed, exclude_seen)
        for begin, end in _reported(self, _row_blocks(bound, _MAX_ENTRIES), len(codes)):
            ranking.rank_block(begin, end, sp.csr_array(weights[begin:end] @ self._similarity))
        return ranking.result()


class SessionKNNRecommender(BaseRecommender):
    __doc__ = f"""V-SKNN: session-based nearest neighbours with position decay (Ludewig, Jannach).

    The training sessions most similar to the current prefix vote for their items. The prefix
    is a real-valued vector over the items whose newest click weighs 1 and older clicks less
    (``decay``); a training session is a binary vector. Among the ``sample_size`` most recent
    training sessions that share an item with the prefix, the ``n_neighbors`` most similar are
    the neighbours, and an item's score is the summed similarity of the neighbours that contain
    it, optionally discounted for neighbours that match only older clicks (``match_decay``)
    and boosted for rare items (``idf_weighting``). Items without a score follow in order of
    popularity, so every item is ranked.

    The defaults were chosen on validation data (see Notes); ``decay="linear",
    match_decay="none", idf_weighting=0`` is the V-SKNN of the paper [1]_.

    Parameters
    ----------
    n_neighbors : int, default=200
        Number of neighbour sessions ``k`` that score each prefix.
    sample_size : int or None, default=2500
        Only the ``sample_size`` most recent training sessions that share at least one item
        with the prefix are candidate neighbours; None considers all of them (the cost of a
        prefix then grows with the popularity of its items).
    decay : {{"harmonic", "linear", "none"}}, default="harmonic"
        Weight of the click ``p`` positions before the newest one (``p = 0`` for the newest) of
        a prefix of ``n`` clicks: ``"harmonic"`` ``1 / (p + 1)``, ``"linear"`` ``(n - p) / n``
        (the paper's V-SKNN), ``"none"`` 1 (the plain session-kNN on the dot product). An item
        clicked several times takes the weight of its newest click.
    similarity : {{"dot", "cosine"}}, default="dot"
        ``"dot"``: the dot product of the weighted prefix and the binary session, as in the
        paper; ``"cosine"`` divides it by the norms of both vectors, which favours short
        sessions.
    match_decay : {{"harmonic", "none"}}, default="harmonic"
        Discount of a neighbour's vote by the newest prefix click it shares: ``"harmonic"``
        divides it by ``p + 1``, ``p`` the position of that click as in ``decay`` (the
        ``weighting_score`` of the session-rec implementation [3]_); ``"none"`` does not.
    idf_weighting : float >= 0, default=1.0
        Strength λ of an inverse-document-frequency boost: the score of item ``j`` is
        multiplied by ``1 + λ log(n_sessions / s_j)``, ``s_j`` its number of training
        sessions. 0 disables it.
    {RANKING_PARAMETERS}
    verbose : int, default=0
        Print the time of each step of ``fit`` and, when ``predict`` ranks many prefixes, its
        progress (a bar on a terminal, plain lines elsewhere).

    Attributes
    ----------
    items_ : ndarray of shape (n_items,)
        The item ids seen in ``fit``, sorted: int64 for integer ids, object otherwise.
    n_items_ : int
        Number of known items.
    n_features_in_ : int
        Width of the prefixes seen in ``fit`` (their ``max_len``).
    n_sessions_ : int
        Number of training sessions (rebuilt from the rows unless ``groups`` is passed).
    item_popularity_ : ndarray of int64, shape (n_items,)
        Number of training sessions that contain each item of ``items_`` (``s_j``).
    session_items_ : scipy.sparse.csr_array of float64, shape (n_sessions, n_items)
        The binary training sessions, most recent first (row 0 is the newest session), columns
        indexed like ``items_``. Built on access from the internal matrices.

    See Also
    --------
    ItemKNNRecommender : Item-to-item neighbours, scored from the last click(s).
    skvaser.datasets.sessions_to_prefixes : Builds the ``X``, ``y`` and ``groups`` this model
        is fitted on.

    Notes
    -----
    With ``w`` the decayed prefix vector and ``b_s`` the binary vector of training session
    ``s``, the similarity is ``sim(s) = w · b_s`` (``"dot"``) or ``w · b_s / (|w| |b_s|)``
    (``"cosine"``). With ``N`` the neighbours, ``p_s`` the position of the newest prefix click
    that session ``s`` contains and ``m(p) = 1 / (p + 1)`` (``match_decay="harmonic"``, else
    1), the score of item ``j`` is

    .. math:: \\mathrm{{score}}(j) = \\Bigl(1 + \\lambda \\log \\frac{{n}}{{s_j}}\\Bigr)
              \\sum_{{s \\in N}} m(p_s) \\, \\mathrm{{sim}}(s) \\, b_{{sj}},

    the V-SKNN of Ludewig and Jannach [1]_ (the session-kNN of Jannach and Ludewig [2]_ with
    ``decay="none"``), with the two extensions of the session-rec framework [3]_. Items of the
    prefix are scored like any other (repeat clicks are common in e-commerce sessions).

    **Defaults.** Chosen on the training part of YOOCHOOSE 1/64 (fit on all but its most
    recent 10 % of sessions, Recall@20 / MRR@20 on all prefixes of those 10 %): the paper's
    setting (``decay="linear"``, no match decay, no IDF, 100 neighbours among 500 sessions)
    gives 64.95 / 26.59; harmonic decay 66.22 / 27.69; more candidates (2,500) 67.53 / 28.11;
    the IDF boost about +0.7 Recall@20; the match decay about +0.4 / +0.4; 200 neighbours
    instead of 100 +0.2 (68.67 / 28.73 for the defaults; the search's best, 300 among 5,000
    candidates, 68.75 / 28.75: the defaults are the cheaper setting within 0.1 point of it;
    50 to 500 neighbours among 2,500 to all candidates stay within 0.9 points;
    ``benchmarks/sknn.py --tune`` repeats the search). ``similarity="cosine"`` loses 0.6
    points without the match decay and 5 with it. On DIGINETICA's training part every
    combination of the decays and the boost lies within 1.3 points (defaults 49.32 / 17.83,
    paper's setting with 200 of 2,500 sessions 48.33 / 17.06). On the test splits (all
    prefixes, window of 30 clicks) the defaults give 69.34 / 28.41 on YOOCHOOSE 1/64
    (published V-SKNN 69.61 / 28.79) and 51.44 / 18.23 on DIGINETICA (published
    52.03 / 18.41); the paper's setting gives 64.79 / 26.31 and 50.71 / 17.82.

    **Recency.** Training sessions are ordered by their newest row, and rows are taken to be in
    time order (as :func:`~skvaser.datasets.sessions_to_prefixes` returns them): a session that
    ends in a later row is more recent. Sessions are rebuilt from the prefix rows as in
    :class:`ItemKNNRecommender`, or taken from ``groups`` when given. Without ``groups``, when
    the clicks of one session begin another's, the rows cannot tell which of the two ended
    first, and the rebuilt sessions may swap their places in time (their clicks are exact).

    **Computation.** All on sparse matrices, a block of rows at a time: the prefix weights
    (n_rows, n_items) times the transposed session matrix give the similarities of the candidate
    sessions, of which each row keeps its ``sample_size`` most recent and then its
    ``n_neighbors`` most similar (ties to the more recent session); those similarities times
    the session matrix give the item scores. Each item keeps only its ``sample_size`` most
    recent sessions in the transposed matrix: a session among the ``sample_size`` most recent
    candidates is among the ``sample_size`` most recent sessions of each of its items, so the
    candidates and their similarities are exactly those of the full product, at a cost bounded
    by ``sample_size`` per prefix click. Ties between items, including all items without a
    score, are broken towards the more popular item, then the lower item id.

    References
    ----------
    .. [1] M. Ludewig and D. Jannach, "Evaluation of session-based recommendation algorithms",
       User Modeling and User-Adapted Interaction 28(4-5), 2018.
    .. [2] D. Jannach and M. Ludewig, "When recurrent neural networks meet the neighborhood for
       session-based recommendation", RecSys 2017.
    .. [3] M. Ludewig, N. Mauro, S. Latifi and D. Jannach, "Empirical analysis of session-based
       recommendation algorithms", User Modeling and User-Adapted Interaction 31, 2021
       (framework: https://github.com/rn5l/session-rec, ``algorithms/knn/vsknn.py``).

    Examples
    --------
    Three sessions, ``10 11 12``, ``10 13`` and ``12 13``, expanded into prefix samples, and
    the paper's V-SKNN with two neighbours:

    >>> from skvaser.datasets import sessions_to_prefixes
    >>> from skvaser.neighbors import SessionKNNRecommender
    >>> X, y, groups = sessions_to_prefixes(
    ...     [0, 0, 0, 1, 1, 2, 2], [10, 11, 12, 10, 13, 12, 13], max_len=3
    ... )
    >>> model = SessionKNNRecommender(
    ...     n_neighbors=2, decay="linear", match_decay="none", idf_weighting=0.0,
    ...     n_recommendations=4,
    ... ).fit(X, y)
    >>> model.n_sessions_, model.item_popularity_
    (3, array([2, 1, 2, 2]))
    >>> model.predict([[-1, 11, 13], [-1, 13, 11], [-1, -1, 99]])
    array([[13, 10, 12, 11],
           [12, 10, 11, 13],
           [10, 12, 13, 11]])

    In ``11 13`` the newest click 13 weighs 1 and 11 weighs 1/2: sessions ``10 13`` and
    ``12 13`` (similarity 1) beat ``10 11 12`` (1/2), so 13 scores 2, and 10 and 12 score 1
    (equally popular: the lower id first). In ``13 11`` the weights swap: ``10 11 12`` (1) and
    the newer of the two sessions of similarity 1/2, ``12 13``, are the neighbours, and 12
    scores 3/2. The unknown item 99 gets the most popular items.
    """

    __metadata_request__fit = {"groups": False}

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "sample_size": [Interval(Integral, 1, None, closed="left"), None],
        "decay": [StrOptions({"linear", "harmonic", "none"})],
        "similarity": [StrOptions({"dot", "cosine"})],
        "match_decay": [StrOptions({"none", "harmonic"})],
        "idf_weighting": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_neighbors=200,
        sample_size=2500,
        decay="harmonic",
        similarity="dot",
        match_decay="harmonic",
        idf_weighting=1.0,
        n_recommendations=20,
        exclude_seen=False,
        handle_unknown="warn",
        padding_value=-1,
        verbose=0,
    ):
        self.n_neighbors = n_neighbors
        self.sample_size = sample_size
        self.decay = decay
        self.similarity = similarity
        self.match_decay = match_decay
        self.idf_weighting = idf_weighting
        self.n_recommendations = n_recommendations
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.padding_value = padding_value
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None):
        """Store the training sessions, most recent first.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last, rows in time order.
        y : array-like of shape (n_samples,)
            The click that followed each prefix.
        groups : array-like of shape (n_samples,), default=None
            Session of each row. When None the sessions are rebuilt from the rows (see
            :class:`ItemKNNRecommender`). With metadata routing enabled, meta-estimators pass
            it only after ``set_fit_request(groups=True)``.

        Returns
        -------
        self : SessionKNNRecommender
            The fitted recommender.
        """
        with unchanged_on_error(self):
            started = time.perf_counter()
            sessions, last_row = _training_sessions(self, X, y, groups)
            sessions = sp.csr_array(sessions[np.argsort(-last_row, kind="stable")])
            sessions, support, order, rank = _by_popularity(sessions)
            sessions.sort_indices()
            n_sessions = sessions.shape[0]

            transposed = sp.csr_array(sessions.T)  # (n_items, n_sessions), newest session first
            transposed.sort_indices()
            if self.sample_size is not None:  # each item keeps its sample_size newest sessions
                transposed = _first_per_row(transposed, self.sample_size)
            idf = np.log(n_sessions / np.maximum(support[order], 1))

            self._sessions = sessions
            self._sessions_by_item = transposed
            self._session_norm = np.sqrt(np.diff(sessions.indptr)).astype(np.float64)
            self._item_weight = 1.0 + self.idf_weighting * idf if self.idf_weighting else None
            self._order = order
            self._rank_of = rank
            self._popularity_order = order  # cold start: the items of the most sessions
            self.item_popularity_ = support
            self.n_sessions_ = n_sessions
        _say(self, f"{n_sessions:,} sessions of {self.n_items_:,} items", started)
        return self

    @property
    def session_items_(self):
        check_is_fitted(self, "items_")
        mapped = self._sessions.copy()
        mapped.indices = self._order[mapped.indices].astype(mapped.indices.dtype)
        mapped.has_sorted_indices = False
        mapped.sort_indices()
        return mapped

    # ------------------------------------------------------------------ scoring
    def _prefix_weights(self, codes):
        """Decayed prefix vectors and the position of each prefix item's newest click.

        Returns two sparse (n_samples, n_items) matrices of one sparsity pattern (internal
        columns, sorted): the weights and ``4 ** -p``, ``p`` the number of clicks after the
        item's newest click (see :meth:`_match_position`).
        """
        n_samples = len(codes)
        row, column, weight, back = _decayed_clicks(codes, self.decay)
        key = row * self.n_items_ + self._rank_of[column]
        # the newest click of each (prefix, item): the entries run oldest first
        key, last = np.unique(key[::-1], return_index=True)
        weight, back = weight[::-1][last], back[::-1][last]
        row, column = key // self.n_items_, key % self.n_items_
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n_samples))])
        shape = (n_samples, self.n_items_)
        recency = 4.0 ** -np.minimum(back, _MAX_BACK).astype(np.float64)
        return (
            sp.csr_array((weight, column, indptr), shape=shape),
            sp.csr_array((recency, column.copy(), indptr.copy()), shape=shape),
        )

    def _candidates(self, prefix):
        """Sparse (n_rows, n_sessions) products of ``prefix`` with the candidate sessions.

        Rows keep their ``sample_size`` newest candidates; indices sorted (newest first).
        """
        product = sp.csr_array(prefix @ self._sessions_by_item)
        product.sort_indices()
        if self.sample_size is not None:
            product = _first_per_row(product, self.sample_size)
        return product

    @staticmethod
    def _match_position(recency):
        """Clicks after the newest prefix click shared with a session, from summed ``4 ** -p``.

        Positions of distinct items differ, so the sum lies in ``[4 ** -p, 4 ** -p * 4 / 3)``
        for the smallest ``p``, whose binary exponent is ``1 - 2 p``.
        """
        _, exponent = np.frexp(recency)
        return (1 - exponent) // 2

    def _neighbours(self, weights, recency):
        """Sparse (n_rows, n_sessions) votes of each row's neighbour sessions (sorted indices)."""
        n_rows = weights.shape[0]
        similarities = self._candidates(weights)
        if self.similarity == "cosine":
            norm = np.sqrt(
                np.bincount(
                    np.repeat(np.arange(n_rows), np.diff(weights.indptr)),
                    weights=weights.data**2,
                    minlength=n_rows,
                )
            )
            row = np.repeat(np.arange(n_rows), np.diff(similarities.indptr))
            similarities.data /= norm[row] * self._session_norm[similarities.indices]
        votes = similarities.data
        if self.match_decay != "none":
            # same sparsity pattern and order as the similarities: entry for entry
            votes = votes / (1.0 + self._match_position(self._candidates(recency).data))
        n_neighbors = min(self.n_neighbors, self.n_sessions_)
        if (np.diff(similarities.indptr) <= n_neighbors).all():
            return sp.csr_array(
                (votes, similarities.indices, similarities.indptr), shape=similarities.shape
            )
        # the n_neighbors most similar of each row, ties to the newer (lower) session
        best, _, valid = _sparse_top_k(similarities, n_neighbors)
        row, slot = np.nonzero(valid)
        column = best[row, slot]
        n_sessions = similarities.shape[1]
        entry_row = np.repeat(np.arange(n_rows), np.diff(similarities.indptr))
        entry = np.searchsorted(
            entry_row * n_sessions + similarities.indices, row * n_sessions + column
        )
        return sp.csr_array((votes[entry], (row, column)), shape=similarities.shape)

    def _rank(self, codes, k, *, allowed, exclude_seen):
        weights, recency = self._prefix_weights(codes)
        reach = np.diff(self._sessions_by_item.indptr)  # candidate sessions of each item
        candidates = np.bincount(
            np.repeat(np.arange(len(codes)), np.diff(weights.indptr)),
            weights=reach[weights.indices],
            minlength=len(codes),
        )
        # entries of a row's candidate product and of its item scores
        longest = int(np.diff(self._sessions.indptr).max(initial=0))
        scored = np.minimum(np.minimum(candidates, self.n_neighbors) * longest, self.n_items_)
        bound = np.maximum(candidates, scored)
        ranking = _FilteredRanking(self, codes, k, allowed, exclude_seen)
        for begin, end in _reported(self, _row_blocks(bound, _MAX_ENTRIES), len(codes)):
            neighbours = self._neighbours(weights[begin:end], recency[begin:end])
            scores = sp.csr_array(neighbours @ self._sessions)
            if self._item_weight is not None:
                scores.data *= self._item_weight[scores.indices]
            ranking.rank_block(begin, end, scores)
        return ranking.result()


# ---------------------------------------------------------------------- shared by both models
def _training_sessions(model, X, y, groups):
    """Validate the training data, learn ``items_`` and rebuild the training sessions.

    Returns the binary (n_sessions, n_items) CSR matrix of the sessions (columns in ``items_``
    order; rows in order of their last row when rebuilt, of their sorted labels with
    ``groups``) and ``last_row`` (n_sessions,): the row of X (after empty rows were dropped)
    that ends each session -- its newest row, hence the session's recency when the rows are in
    time order. Without ``groups`` the sessions are rebuilt from the rows (see
    :func:`_session_ends`).
    """
    codes, targets, groups = model._prepare_fit(X, y, groups)
    clicks = np.hstack([codes, targets[:, None]])
    if groups is None:
        last_row = np.flatnonzero(_session_ends(codes, targets))
        if not len(last_row):
            raise ValueError(
                "No session could be rebuilt from the rows of X: each one loops over a window of "
                f"{codes.shape[1] + 1} clicks. Pass groups (the session of each row)."
            )
        clicks, session = clicks[last_row], np.arange(len(last_row))
        n_sessions = len(last_row)
    else:
        _, session = np.unique(groups, return_inverse=True)
        n_sessions = int(session.max()) + 1
        last_row = np.zeros(n_sessions, dtype=np.int64)
        np.maximum.at(last_row, session, np.arange(len(session)))
    row, column = np.nonzero(clicks)
    matrix = sp.csr_array(
        (np.ones(len(row)), (session[row], clicks[row, column] - 1)),
        shape=(n_sessions, model.n_items_),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix, last_row


def _by_popularity(sessions):
    """Renumber the columns of a session-item matrix in order of popularity (most popular first).

    Returns the renumbered matrix (indices unsorted), the support of each item in ``items_``
    order, ``order`` (internal column -> index into ``items_``) and ``rank`` (its inverse).
    Ties keep ``items_`` order, so the lower column is the more popular item, then the lower id.
    """
    n_items = sessions.shape[1]
    support = np.asarray(sessions.sum(axis=0)).ravel().astype(np.int64)
    order = np.argsort(-support, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(n_items)
    sessions.indices = rank[sessions.indices].astype(sessions.indices.dtype)
    sessions.has_sorted_indices = False
    return sessions, support, order, rank


def _decayed_clicks(codes, decay):
    """(row, column, weight, back) of every known click of each prefix.

    ``column`` indexes ``items_``; ``back`` counts the clicks after it (0 for the newest). A click
    ``p`` positions before the newest one of a prefix of ``n`` clicks weighs ``(n - p) / n``
    (``"linear"``), ``1 / (p + 1)`` (``"harmonic"``) or 1 (``"none"``). Entries are in row-major
    order (row, then position, oldest first).
    """
    width = codes.shape[1]
    row, position = np.nonzero(codes)
    column = codes[row, position] - 1
    back = width - 1 - position  # clicks before the newest one
    if decay == "linear":
        # leading unknown clicks are indistinguishable from padding here
        first = np.where(codes.any(axis=1), (codes != 0).argmax(axis=1), width)
        length = width - first
        weight = (length[row] - back) / length[row]
    elif decay == "harmonic":
        weight = 1.0 / (back + 1.0)
    else:
        weight = np.ones(len(row))
    return row, column, weight, back


def _row_blocks(bound, max_entries):
    """Consecutive (begin, end) row blocks whose summed ``bound`` fits ``max_entries``.

    A block holds at least one row, so a row whose bound alone exceeds the budget is a block of
    its own.
    """
    cumulative = np.cumsum(bound)
    begin = 0
    while begin < len(bound):
        offset = cumulative[begin - 1] if begin else 0
        end = max(begin + 1, int(np.searchsorted(cumulative, offset + max_entries, "right")))
        yield begin, end
        begin = end


def _say(model, what, started):
    """At ``verbose``: one line, the model's name, what was done and its seconds."""
    if model.verbose:
        print(f"{type(model).__name__}: {what} in {time.perf_counter() - started:.1f} s",
              flush=True)


def _reported(model, blocks, n_rows):
    """The row blocks ``(begin, end)`` of a ranking; at ``verbose``, its progress over the
    rows (:func:`skvaser._progress.progress`)."""
    if not model.verbose:
        return blocks
    name = type(model).__name__
    return progress(
        blocks, total=n_rows, title=name, unit="prefix", size=lambda block: block[1] - block[0],
        line=lambda done, elapsed, left: (
            f"{name}: ranked {done:,} of {n_rows:,} prefixes in {elapsed:.1f} s, "
            f"about {left:.0f} s left"
        ),
    )


def _first_per_row(matrix, n):
    """The first ``n`` stored entries of each row of a CSR matrix (sorted indices: the lowest
    columns), as a new CSR matrix."""
    lengths = np.diff(matrix.indptr)
    if (lengths <= n).all():
        return matrix
    kept = np.minimum(lengths, n)
    slot = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], lengths)
    keep = slot < n
    indptr = np.concatenate([[0], np.cumsum(kept)])
    return sp.csr_array((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


class _FilteredRanking:
    """The top-k of sparse score rows, block by block, with the candidate filters.

    Scores live in internal columns (popularity order). A row's best scored candidates come
    first; unscored candidates follow in order of popularity (score 0), so every candidate is
    ranked and ties go to the more popular item. Columns outside ``allowed`` and, with
    ``exclude_seen``, the row's own items are never returned; where fewer than ``k`` items are
    candidates, the last indices are -1 with score -inf.
    """

    def __init__(self, model, codes, k, allowed, exclude_seen):
        self.model, self.k = model, k
        n_items = model.n_items_
        self.allowed = None if allowed is None else allowed[model._order]  # internal order
        # unscored candidates in popularity order: enough to fill k slots past the seen items
        n_fill = k + (codes.shape[1] if exclude_seen else 0)
        self.fill = (
            np.arange(min(n_fill, n_items))
            if self.allowed is None
            else np.flatnonzero(self.allowed)[:n_fill]
        )
        self.seen = None
        if exclude_seen:
            self.seen = np.where(codes > 0, model._rank_of[np.maximum(codes, 1) - 1], -1)
        self.indices = np.empty((len(codes), k), dtype=np.int64)
        self.scores = np.empty((len(codes), k))

    def _drop_filtered(self, scores, seen):
        if self.allowed is not None:
            scores.data[~self.allowed[scores.indices]] = 0.0
        if seen is not None:
            row, slot = np.nonzero(seen >= 0)
            mask = sp.csr_array(
                (np.ones(len(row)), (row, seen[row, slot])), shape=scores.shape
            )
            mask.sum_duplicates()
            mask.data[:] = 1.0  # an item clicked twice is dropped once
            scores = sp.csr_array(scores - scores.multiply(mask))
        scores.eliminate_zeros()
        scores.sort_indices()
        return scores

    def _take(self, taken, row, columns):
        """Mark ``taken[row, slot]`` for the ``columns`` that are fill candidates."""
        slot = np.minimum(np.searchsorted(self.fill, columns), len(self.fill) - 1)
        hit = self.fill[slot] == columns if len(self.fill) else np.zeros(len(columns), bool)
        taken[row[hit], slot[hit]] = True

    def rank_block(self, begin, end, scores):
        """Rank the rows ``begin:end`` from their sparse (rows, n_items) internal scores."""
        seen = None if self.seen is None else self.seen[begin:end]
        scores = self._drop_filtered(scores, seen)
        k, n_rows, n_fill = self.k, end - begin, len(self.fill)
        best, best_values, valid = _sparse_top_k(scores, k)
        taken = np.zeros((n_rows, n_fill), dtype=bool)  # fill items scored or seen
        row = np.repeat(np.arange(n_rows), np.diff(scores.indptr))
        self._take(taken, row, scores.indices)
        if seen is not None:
            row, position = np.nonzero(seen >= 0)
            self._take(taken, row, seen[row, position])
        columns = np.hstack([best, np.broadcast_to(self.fill, (n_rows, n_fill))])
        values = np.hstack([best_values, np.zeros((n_rows, n_fill))])
        invalid = np.hstack([~valid, taken])
        pick = np.argsort(invalid, axis=1, kind="stable")[:, :k]
        missing = np.take_along_axis(invalid, pick, axis=1)
        indices = self.model._order[np.take_along_axis(columns, pick, axis=1)]
        self.indices[begin:end] = np.where(missing, -1, indices)
        self.scores[begin:end] = np.where(
            missing, -np.inf, np.take_along_axis(values, pick, axis=1)
        )

    def result(self):
        """``(indices, scores)``: indices into ``items_`` and scores, (n_rows, k) each."""
        return self.indices, self.scores


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
