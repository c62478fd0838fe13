"""Recommenders that combine the rankings of other recommenders."""

import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ._sklearn import Interval, _BaseComposition
from .base import RANKING_PARAMETERS, BaseRecommender, unchanged_on_error
from .models import VASERRecommender
from .neighbors import SessionKNNRecommender

__all__ = ["VotingRecommender"]

#: Weights of the default members (VASER, V-SKNN) when ``weights`` is None
#: (``benchmarks/voting.py --validation``).
DEFAULT_WEIGHTS = (3.0, 1.0)


def _default_members():
    """The members of ``estimators=None``, new each time."""
    return [("vaser", VASERRecommender()), ("sknn", SessionKNNRecommender())]


class VotingRecommender(_BaseComposition, BaseRecommender):
    __doc__ = f"""Ranks items by the weighted reciprocal ranks they get from several recommenders.

    Each member ranks its ``n_candidates`` best items for a prefix; an item's vote is
    ``sum_m weights[m] / (rank_offset + rank_m)`` over the members that rank it (``rank_m`` =
    1 for a member's best item), and the items with the largest votes are recommended. Ranks,
    not scores, are combined, so members whose scores live on different scales (a neural
    model's logits, a neighbourhood model's similarity sums) need no calibration.

    A neural model and a neighbourhood model make different mistakes: blended, they find more
    next clicks than either (``benchmarks/voting.py``). So do neural models of different
    ``random_state``: several VASERs and V-SKNN find more than one VASER and V-SKNN.

    Parameters
    ----------
    estimators : list of (str, recommender) tuples, default=None
        The members, each a skvaser recommender under a unique name; they are cloned and
        fitted on the same data in ``fit``. Their parameters are reachable as
        ``<name>__<parameter>`` (``GridSearchCV``, ``set_params``). None:
        ``[("vaser", VASERRecommender()), ("sknn", SessionKNNRecommender())]``.
    weights : array-like of shape (n_estimators,), default=None
        Non-negative weight of each member's votes (at least one positive); only the ratios
        matter. None weighs the members equally, or, with the default members, VASER's votes
        3 times V-SKNN's (``DEFAULT_WEIGHTS``, chosen on validation data of YOOCHOOSE 1/64,
        where equal weights blend no better than VASER alone). Read when ranking: new weights
        need no new fit.
    n_candidates : int, default=200
        Items each member ranks per prefix; an item outside every member's candidates is
        never recommended. At least ``n_recommendations`` are ranked.
    rank_offset : float, default=5.0
        ``rank_offset`` in the vote: small values trust each member's first few items more,
        large values flatten the votes over the candidates.
    {RANKING_PARAMETERS}

    Attributes
    ----------
    estimators_ : list of recommenders
        The fitted members, in the order of ``estimators``.
    named_estimators_ : dict
        The fitted members by name.
    items_ : ndarray of shape (n_items,)
        The item ids seen in ``fit``, sorted (every member's ``items_``).
    n_items_ : int
        Number of items.
    n_features_in_ : int
        Width (``max_len``) of the prefixes seen in ``fit``.

    See Also
    --------
    VASERRecommender, SessionKNNRecommender : the default members.

    Notes
    -----
    ``allowed_items`` and ``exclude_seen`` act inside each member's ranking: the votes come
    from the members' ranks among the items left, so a small ``allowed_items`` still gets
    ``n_recommendations`` items, and a filtered ranking is not the unfiltered one with items
    struck out. A member whose own ``exclude_seen`` is True ranks without the prefix's items
    whatever the vote's. :func:`skvaser.persistence.dump` saves a VotingRecommender with its
    members, as it saves any skvaser recommender.

    The scores that ``predict(..., return_scores=True)`` returns are the votes (at most
    ``sum(weights) / (rank_offset + 1)``). Rows without a known click get the training data's
    most clicked items, as every recommender does.

    Examples
    --------
    >>> from skvaser import (ItemKNNRecommender, SessionKNNRecommender, VotingRecommender,
    ...                      sessions_to_prefixes)
    >>> from skvaser.datasets import make_sessions
    >>> X, y, _ = sessions_to_prefixes(*make_sessions(200, 40, random_state=0), max_len=10)
    >>> model = VotingRecommender(
    ...     estimators=[("item", ItemKNNRecommender()), ("session", SessionKNNRecommender())],
    ...     weights=[1, 2], n_recommendations=5,
    ... ).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2, 5)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "estimators": [list, None],
        "weights": ["array-like", None],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "rank_offset": [Interval(Real, 0, None, closed="left")],
    }
    __metadata_request__fit = {"groups": False}

    def __init__(
        self,
        *,
        estimators=None,
        weights=None,
        n_candidates=200,
        rank_offset=5.0,
        n_recommendations=20,
        exclude_seen=False,
        handle_unknown="warn",
        padding_value=-1,
    ):
        self.estimators = estimators
        self.weights = weights
        self.n_candidates = n_candidates
        self.rank_offset = rank_offset
        self.n_recommendations = n_recommendations
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.padding_value = padding_value

    @property
    def _estimators(self):
        """``estimators``, or the default members (what ``get_params`` reaches into)."""
        return _default_members() if self.estimators is None else self.estimators

    @_estimators.setter
    def _estimators(self, value):
        self.estimators = value

    def get_params(self, deep=True):
        """Parameters of this recommender and, with ``deep``, of its members
        (``<name>__<parameter>``)."""
        return self._get_params("_estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters of this recommender and of its members (``<name>__<parameter>``).

        Setting a default member's parameter makes the default members explicit in
        ``estimators`` (and, where ``weights`` is None, their weights in ``weights``), so that
        the change is kept and the votes stay weighted as before; a call that raises leaves
        ``estimators`` and ``weights`` as they were.
        """
        with unchanged_on_error(self):
            if "estimators" in params:  # first: the other keys may name the new members
                self.estimators = params.pop("estimators")
            explicit = self.estimators is None and any(
                key.split("__")[0] in dict(_default_members()) for key in params
            )
            if explicit:
                self.estimators = self._estimators
            self._set_params("_estimators", **params)
            if explicit and self.weights is None:  # after: the call may set weights=None
                self.weights = list(DEFAULT_WEIGHTS)
        return self

    def _check_members(self):
        """The members' names and recommenders, checked."""
        members = self._estimators
        if not members or not all(
            isinstance(member, tuple) and len(member) == 2 for member in members
        ):
            raise ValueError(
                "estimators must be a non-empty list of (name, recommender) tuples, e.g. "
                "[('vaser', VASERRecommender()), ('sknn', SessionKNNRecommender())]."
            )
        names, recommenders = zip(*members)
        self._validate_names(names)
        for name, recommender in members:
            if not isinstance(recommender, BaseRecommender):
                raise TypeError(
                    f"estimators[{name!r}] is a {type(recommender).__name__}, not a skvaser "
                    "recommender: every member must rank items (VASERRecommender, "
                    "SessionKNNRecommender, ...)."
                )
        return names, recommenders

    def _member_weights(self, n_members):
        """``weights`` as float64 (n_members,), checked; read when ranking, as
        ``VotingClassifier`` does, so that new weights need no new fit."""
        if self.weights is None:
            return np.asarray(DEFAULT_WEIGHTS if self.estimators is None else np.ones(n_members))
        try:
            weights = np.asarray(self.weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"weights must be numbers, one per estimator; got {self.weights!r}."
            ) from None
        if weights.shape != (n_members,):
            raise ValueError(
                f"weights has shape {weights.shape}, but there are {n_members} estimators: "
                "give one weight per estimator."
            )
        if not np.all(np.isfinite(weights)) or (weights < 0).any() or not weights.any():
            raise ValueError(
                f"weights must be finite and non-negative, at least one positive; got "
                f"{self.weights!r}."
            )
        return weights

    def fit(self, X, y, groups=None):
        """Fit a clone of each member on the prefixes ``X`` and their next items ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last.
        y : array-like of shape (n_samples,)
            The click that followed each prefix.
        groups : array-like of shape (n_samples,), default=None
            Session of each row, passed to the members whose ``fit`` takes it. With metadata
            routing enabled, meta-estimators pass it only after
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self : VotingRecommender
            The fitted recommender.
        """
        with unchanged_on_error(self):
            names, recommenders = self._check_members()
            self._member_weights(len(recommenders))
            codes, targets, groups = self._prepare_fit(X, y, groups)  # warns once: empty rows
            # the members see the checked rows (item ids) without the empty ones
            ids = np.empty(self.n_items_ + 1, dtype=self.items_.dtype)
            ids[0], ids[1:] = self.padding_value, self.items_
            X_members, y_members = ids[codes], ids[targets]
            members = []
            for recommender in recommenders:
                member = clone(recommender).set_params(padding_value=self.padding_value)
                takes_groups = "groups" in inspect.signature(member.fit).parameters
                if takes_groups and groups is not None:
                    member.fit(X_members, y_members, groups=groups)
                else:
                    member.fit(X_members, y_members)
                members.append(member)
            self.estimators_ = members
            self.named_estimators_ = dict(zip(names, members))
        return self

    def _rank(self, codes, k, *, allowed, exclude_seen):
        check_is_fitted(self, "estimators_")
        n_candidates = max(self.n_candidates, k)
        indices, votes = [], []
        weights = self._member_weights(len(self.estimators_))
        for member, weight in zip(self.estimators_, weights):
            if weight == 0:
                continue
            ranked, _ = member._rank(
                codes, min(n_candidates, self.n_items_), allowed=allowed,
                exclude_seen=exclude_seen or member.exclude_seen,
            )
            vote = weight / (self.rank_offset + np.arange(1, ranked.shape[1] + 1))
            indices.append(ranked)
            votes.append(np.where(ranked >= 0, vote, 0.0))
        return _top_votes(np.hstack(indices), np.hstack(votes), k, self.n_items_)


def _top_votes(indices, votes, k, n_items):
    """The ``k`` items of largest summed vote per row.

    indices : int64 (n, T), item indices or -1; votes : float64 (n, T), 0 at the -1 slots.
    Returns ``(indices, scores)`` (n, k): best first, ties by item index; -1 and -inf where a
    row has fewer than ``k`` items.
    """
    n, width = indices.shape
    # by item, and within an item by vote: exact ties then add their votes in the same order
    order = np.lexsort((-votes, np.where(indices >= 0, indices, n_items)), axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    votes = np.take_along_axis(votes, order, axis=1)
    first = np.ones((n, width), dtype=bool)  # the first slot of each item in its row
    first[:, 1:] = indices[:, 1:] != indices[:, :-1]
    slot = np.cumsum(first, axis=1) - 1 + width * np.arange(n)[:, None]
    summed = np.bincount(slot.ravel(), weights=votes.ravel(), minlength=n * width)
    # each item's sum at its first slot (the slots are in item order: a stable sort keeps
    # ties by item index)
    summed = np.where(first & (indices >= 0), summed[slot], -np.inf)
    best = np.argsort(-summed, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(summed, best, axis=1)
    best = np.where(np.isfinite(scores), np.take_along_axis(indices, best, axis=1), -1)
    if best.shape[1] < k:
        pad = k - best.shape[1]
        best = np.pad(best, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return best, scores
