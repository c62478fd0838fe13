"""The interface between the session networks and the shared trainer and scorer."""

import torch
from torch import nn

from .._ranking import SCORE_ITEMS, rank_items
from .sampled_softmax import sampled_cross_entropy
from .softmax import CACHE_CELLS, item_cross_entropy

__all__ = ["SessionNetwork", "sessions_of"]


def sessions_of(x):
    """The session of each row of a batch: ``x.session`` of a
    :class:`~skvaser.nn.batching.SessionClicks`, None for a tensor of prefixes."""
    return None if isinstance(x, torch.Tensor) else x.session


class SessionNetwork(nn.Module):
    """A network that scores every item for a prefix as ``query(x) @ item_weights().T``.

    Subclasses implement :meth:`query` (deterministic, used to rank), :meth:`item_weights` and,
    when they add a regulariser to the likelihood, :meth:`loss_terms`.
    """

    #: Precision of the large matrix products of training (None: the weights' own), e.g. those
    #: of the softmax (:func:`~skvaser.nn.softmax.item_cross_entropy`); set by the estimator
    #: before training. Ranking (eval mode) always uses the weights' precision.
    product_dtype = None

    def query(self, x, generator=None):
        """Representation of prefixes ``x`` (B, L) to score items with: Tensor (B, D)."""
        raise NotImplementedError

    def item_weights(self):
        """Output weights of the items with codes 1..n_items: Tensor (n_items, D)."""
        raise NotImplementedError

    def loss_terms(self, x, y, generator):
        """Per-batch mean loss terms of a training step.

        Returns a dict with ``"reconstruction"`` (full-softmax cross-entropy of the next item
        ``y``, codes 1..n_items) and optionally ``"regularization"`` (weighted by the trainer's
        annealed ``beta``).
        """
        return {
            "reconstruction": self.reconstruction(self.query(x, generator), y, sessions_of(x))
        }

    #: Draws the shared negatives of the sampled softmax
    #: (:class:`~skvaser.nn.sampled_softmax.NegativeSampler`); None: the full softmax. Set by
    #: the estimator for the duration of ``fit``.
    sampler = None
    #: Whether the item tables get sparse gradients (:meth:`use_sparse_gradients`).
    sparse_gradients = False
    #: Memory for the full softmax's scores, reused from step to step
    #: (:class:`~skvaser.nn.softmax.ScoreBuffer`); set by the trainer for the duration of
    #: training, None otherwise (a new matrix each call).
    score_buffer = None
    #: Share of each target's probability mass spread evenly over all items in the softmax's
    #: target distribution (:meth:`reconstruction`); set by the estimator before training.
    label_smoothing = 0.0

    def reconstruction(self, query, y, sessions=None):
        """Mean softmax cross-entropy (nats) of the next items ``y`` (codes 1..n_items) given
        the queries (B, D) of their prefixes.

        Without a :attr:`sampler`, over all items, blocked on the CPU
        (:func:`~skvaser.nn.softmax.item_cross_entropy`); with one, over the batch's targets
        and the sampler's shared negatives, log-Q corrected
        (:func:`~skvaser.nn.sampled_softmax.sampled_cross_entropy`), where the rows of one of
        the ``sessions`` (LongTensor (B,), :func:`sessions_of`; None: every row its own) do not
        take each other's targets for negatives.

        Both are against targets smoothed by :attr:`label_smoothing` ``eps``, which needs no
        second pass over the scores: the cross-entropy against
        ``(1 - eps) * one_hot + eps / n_items`` is the plain one plus
        ``eps * (s_target - mean_j s_j)``, and the mean score is the query's product with the
        mean item weight. The sampled softmax estimates that mean from its candidates alone
        (each weighted by one over its expected copies, unbiased over the items the sampler
        can draw), so that a step still reads and updates only the candidates' rows.
        """
        target = y - 1
        if self.sampler is None:
            weights = self.item_weights()
            loss = item_cross_entropy(
                query, weights, target, self.product_dtype, self.score_buffer
            )
            if self.label_smoothing:
                loss = loss + self._smoothing(query, weights[target], weights.mean(dim=0))
            return loss
        candidates = self.sampler.candidates(target)
        weights = self.candidate_weights(candidates)
        log_counts = self.sampler.log_expected_counts(candidates, len(target))
        loss = sampled_cross_entropy(
            query, weights, target, candidates, log_counts, self.product_dtype, sessions
        )
        if self.label_smoothing:
            estimate = (weights * torch.exp(-log_counts)[:, None]).sum(dim=0)
            # the candidates start with the batch's targets
            loss = loss + self._smoothing(
                query, weights[: len(target)], estimate / self.sampler.n_items
            )
        return loss

    def _smoothing(self, query, target_weights, mean_weight):
        """``eps`` times the mean over rows of ``s_target - mean_j s_j``: Tensor ()."""
        margin = (query * (target_weights - mean_weight)).sum(dim=1)
        return self.label_smoothing * margin.mean()

    def candidate_weights(self, items):
        """Rows ``items`` (item indices, LongTensor (C,)) of :meth:`item_weights`: Tensor (C, D).

        Networks override it to read the rows alone (with sparse gradients, when
        :attr:`sparse_gradients`), not the whole table.
        """
        return self.item_weights()[items]

    def use_sparse_gradients(self, sparse):
        """Make the item tables' gradients sparse (only the rows a step reads) or dense.

        Every :class:`torch.nn.Embedding` of the network switches, and :meth:`candidate_weights`
        follows :attr:`sparse_gradients`; the tables are then :meth:`sparse_parameters`, for an
        optimiser that takes sparse gradients.
        """
        self.sparse_gradients = bool(sparse)
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                module.sparse = self.sparse_gradients

    def sparse_parameters(self):
        """The parameters whose gradients are sparse: list of Parameter (empty when dense)."""
        if not self.sparse_gradients:
            return []
        return [module.weight for module in self.modules() if isinstance(module, nn.Embedding)]

    @torch.no_grad()
    def top_k(self, x, k, *, weights=None, item_chunk=SCORE_ITEMS, max_rows=None):
        """Codes minus one of the ``k`` best items for prefixes ``x``: the columns of
        :meth:`rank` without filters, LongTensor (B, k)."""
        return self.rank(x, k, weights=weights, item_chunk=item_chunk, max_rows=max_rows)[1]

    @torch.no_grad()
    def rank(
        self, x, k, *, weights=None, item_chunk=SCORE_ITEMS, max_rows=None, allowed=None,
        exclude_seen=False,
    ):
        """Scores and codes minus one of the ``k`` best items for prefixes ``x`` (B, L).

        Best first, ties towards the lower code. Items are scored ``item_chunk`` at a time and
        merged into a running top-k (:func:`skvaser._ranking.rank_items`), for at most
        ``max_rows`` prefixes at a time (default: all of them; on the CPU, blocks of about
        :data:`~skvaser.nn.softmax.CACHE_CELLS` scores, and at least 64 rows, so that a wide
        catalogue is still read by a matrix product), so at most ``max_rows * item_chunk``
        scores exist at once. ``weights`` (default: :meth:`item_weights`) lets a caller that
        ranks many batches build the item weights once. ``allowed`` (BoolTensor (n_items,))
        restricts the candidates, ``exclude_seen`` drops each prefix's own items; where fewer
        than ``k`` items are candidates, the last codes are -1 with score -inf.

        Returns
        -------
        scores : Tensor (B, k)
            ``query(x) @ item_weights().T`` of the returned items.
        columns : LongTensor (B, k)
        """
        weights = self.item_weights() if weights is None else weights
        query = self.query(x)
        exclude = x - 1 if exclude_seen else None
        rows = len(query) if max_rows is None else max_rows
        if query.device.type == "cpu":
            rows = min(rows, max(64, CACHE_CELLS // min(len(weights), max(item_chunk, k))))
        if rows >= len(query):
            return rank_items(
                query, weights, k, item_chunk=item_chunk, allowed=allowed, exclude=exclude
            )
        blocks = [
            rank_items(
                query[begin : begin + rows], weights, k, item_chunk=item_chunk, allowed=allowed,
                exclude=None if exclude is None else exclude[begin : begin + rows],
            )
            for begin in range(0, len(query), rows)
        ]
        return torch.cat([values for values, _ in blocks]), torch.cat([top for _, top in blocks])
