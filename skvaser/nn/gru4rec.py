"""GRU4Rec: session-based recommendation with recurrent neural networks (Hidasi et al., 2016)."""

import torch
import torch.nn.functional as F
from torch import nn

from .base import SessionNetwork
from .layers import item_embedding, seeded_dropout
from .softmax import item_cross_entropy

__all__ = ["GRU4RecNetwork", "ItemOutput", "bpr_max_loss", "ranking_loss"]


class ItemOutput(nn.Module):
    """GRU4Rec's output layer: separate item embeddings ``W`` and biases ``b``.

    ``score_i = W_i . h + b_i``, with the bias folded into the dot product of the
    :class:`~skvaser.nn.base.SessionNetwork` interface: :meth:`query` appends a 1 to ``h`` and
    :meth:`weights` appends ``b`` to ``W`` as a last column.

    Parameters
    ----------
    n_items, dim : int
    """

    def __init__(self, n_items, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_items, dim) * dim**-0.5)
        self.bias = nn.Parameter(torch.zeros(n_items))

    def query(self, state):
        """``[h, 1]``: Tensor (B, dim + 1)."""
        return torch.cat([state, state.new_ones(len(state), 1)], dim=1)

    def weights(self, items=None, sparse=False):
        """``[W, b]``: Tensor (n_items, dim + 1), or its rows ``items`` (LongTensor (C,)):
        Tensor (C, dim + 1), ``W``'s rows read with sparse gradients when ``sparse`` (the
        biases' gradient stays dense: one number per item)."""
        if items is None:
            return torch.cat([self.weight, self.bias[:, None]], dim=1)
        rows = F.embedding(items, self.weight, sparse=sparse)
        return torch.cat([rows, self.bias[items, None]], dim=1)


def ranking_loss(query, weights, target, *, loss, n_negatives, bpr_max_regularization, generator,
                 product_dtype=None):
    """Mean loss of the next items ``target`` among all items or sampled negatives.

    Parameters
    ----------
    query : Tensor (B, D)
    weights : Tensor (n_items, D)
    target : LongTensor (B,)
        Item indices (codes minus one) of the next clicks.
    loss : {"cross_entropy", "bpr_max"}
        Softmax cross-entropy of the target, or BPR-max (Hidasi & Karatzoglou, 2018):
        ``-log sum_j s_j sigmoid(r_target - r_j) + lambda sum_j s_j r_j^2`` with ``s`` the
        softmax of the negatives' scores ``r_j``.
    n_negatives : int or None
        None: every other item is a negative. An int: the negatives are the other targets of the
        batch (popularity-distributed, GRU4Rec's mini-batch sampling) plus ``n_negatives`` items
        drawn uniformly with ``generator``; an item equal to a row's target is never its negative.
    bpr_max_regularization : float
        ``lambda``, the weight of BPR-max's score regularisation.
    generator : torch.Generator or None
    product_dtype : torch.dtype, optional
        Precision of the full softmax's matrix products (:func:`item_cross_entropy`).

    Returns
    -------
    loss : Tensor ()
    """
    rows = torch.arange(len(target), device=target.device)
    if n_negatives is None:
        if loss == "cross_entropy":
            return item_cross_entropy(query, weights, target, product_dtype)
        scores = query @ weights.T  # (B, n_items)
        positive = target
        negative = torch.ones_like(scores, dtype=torch.bool)
        negative[rows, target] = False
    else:
        extra = torch.randint(
            len(weights), (n_negatives,), generator=generator, device=weights.device
        )
        candidates = torch.cat([target, extra])  # (B + n_negatives,)
        scores = query @ weights[candidates].T
        positive = rows
        negative = candidates[None, :] != target[:, None]
        if loss == "cross_entropy":  # copies of the target are neither positive nor negative
            keep = negative.clone()
            keep[rows, positive] = True
            return F.cross_entropy(scores.masked_fill(~keep, -torch.inf), positive)
    return bpr_max_loss(scores, positive, negative, bpr_max_regularization)


def bpr_max_loss(scores, positive, negative, bpr_max_regularization):
    """Mean BPR-max loss of rows of ``scores`` (B, C) whose positive is column ``positive`` (B,)
    and whose negatives are the columns where ``negative`` (B, C) is True."""
    target_scores = scores.gather(1, positive[:, None])  # (B, 1)
    lowest = torch.finfo(scores.dtype).min  # not -inf: a row without negatives stays finite
    softmax = torch.softmax(scores.masked_fill(~negative, lowest), dim=1) * negative
    ranked = (softmax * torch.sigmoid(target_scores - scores)).sum(dim=1)
    penalty = (softmax * scores.pow(2)).sum(dim=1)
    return (-torch.log(ranked + 1e-24) + bpr_max_regularization * penalty).mean()


class GRU4RecNetwork(SessionNetwork):
    """Item embedding -> GRU -> last state ``h_t``; ``score_i = W_i . h_t + b_i``.

    The output item embeddings ``W`` (``hidden_size`` wide) and biases ``b`` are separate from
    the input embeddings, as in GRU4Rec. An empty prefix keeps the GRU's initial state (zeros),
    so its scores are the biases alone.

    Parameters
    ----------
    n_items : int
    embedding_dim, hidden_size : int
    embedding_dropout, context_dropout : float
        Dropout on the click embeddings and on ``h_t``.
    loss : {"cross_entropy", "bpr_max"}
        With a :attr:`sampler`, cross-entropy is the log-Q-corrected sampled softmax
        (:meth:`reconstruction`) and BPR-max ranks the target against the batch's other
        targets and the sampled negatives (uncorrected, as GRU4Rec does).
    bpr_max_regularization : float
    """

    def __init__(self, n_items, embedding_dim, hidden_size, embedding_dropout, context_dropout,
                 loss="cross_entropy", bpr_max_regularization=1.0):
        super().__init__()
        self.embedding = item_embedding(n_items + 1, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.output = ItemOutput(n_items, hidden_size)
        self.hidden_size = hidden_size
        self.embedding_dropout, self.context_dropout = embedding_dropout, context_dropout
        self.loss = loss
        self.bpr_max_regularization = bpr_max_regularization

    def _state(self, x, generator):
        """The last GRU state (B, hidden_size), after dropout."""
        if x.shape[1] == 0:
            return torch.zeros(len(x), self.hidden_size, device=x.device)
        embedded = seeded_dropout(self.embedding(x), self.embedding_dropout, generator,
                                  self.training)
        _, last = self.gru(embedded)
        return seeded_dropout(last[0], self.context_dropout, generator, self.training)

    def query(self, x, generator=None):
        return self.output.query(self._state(x, generator))

    def item_weights(self):
        return self.output.weights()

    def candidate_weights(self, items):
        return self.output.weights(items, sparse=self.sparse_gradients)

    def sparse_parameters(self):
        return super().sparse_parameters() + ([self.output.weight] if self.sparse_gradients else [])

    def loss_terms(self, x, y, generator):
        query = self.query(x, generator)
        if self.loss == "cross_entropy":
            return {"reconstruction": self.reconstruction(query, y)}
        target = y - 1
        if self.sampler is None:
            loss = ranking_loss(
                query, self.item_weights(), target, loss="bpr_max", n_negatives=None,
                bpr_max_regularization=self.bpr_max_regularization, generator=generator,
            )
            return {"reconstruction": loss}
        candidates = self.sampler.candidates(target)
        scores = query @ self.candidate_weights(candidates).T
        positive = torch.arange(len(target), device=target.device)
        negative = candidates[None, :] != target[:, None]
        loss = bpr_max_loss(scores, positive, negative, self.bpr_max_regularization)
        return {"reconstruction": loss}
