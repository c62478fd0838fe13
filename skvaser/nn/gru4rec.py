"""GRU4Rec: session-based recommendation with recurrent neural networks (Hidasi et al., 2016)."""

import torch
import torch.nn.functional as F
from torch import nn

from .base import SessionNetwork
from .layers import item_embedding, seeded_dropout

__all__ = ["GRU4RecNetwork", "ItemOutput", "bpr_max_loss"]


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


def bpr_max_loss(scores, positive, negative, bpr_max_regularization):
    """Mean BPR-max loss (Hidasi & Karatzoglou, 2018) of rows of ``scores`` (B, C) whose
    positive is column ``positive`` (B,) and whose negatives are the columns where ``negative``
    (B, C) is True: ``-log sum_j s_j sigmoid(r_positive - r_j) + lambda sum_j s_j r_j^2`` with
    ``s`` the softmax of the negatives' scores ``r_j`` and ``lambda`` the
    ``bpr_max_regularization``. A row without negatives (a one-item catalogue) has nothing to
    rank against: its loss is 0."""
    target_scores = scores.gather(1, positive[:, None])  # (B, 1)
    lowest = torch.finfo(scores.dtype).min  # not -inf: a row without negatives stays finite
    softmax = torch.softmax(scores.masked_fill(~negative, lowest), dim=1) * negative
    ranked = (softmax * torch.sigmoid(target_scores - scores)).sum(dim=1)
    penalty = (softmax * scores.pow(2)).sum(dim=1)
    ranking = torch.where(negative.any(dim=1), -torch.log(ranked + 1e-24), 0.0)
    return (ranking + bpr_max_regularization * penalty).mean()


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
        The softmax cross-entropy of the target, or BPR-max (:func:`bpr_max_loss`) against
        every other item. With a :attr:`sampler`, cross-entropy is the log-Q-corrected sampled
        softmax (:meth:`reconstruction`) and BPR-max ranks the target against the batch's other
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
        rows = torch.arange(len(target), device=target.device)
        if self.sampler is None:  # every other item is a negative
            scores = query @ self.item_weights().T
            positive = target
            negative = torch.ones_like(scores, dtype=torch.bool)
            negative[rows, target] = False
        else:
            candidates = self.sampler.candidates(target)
            scores = query @ self.candidate_weights(candidates).T
            positive = rows
            negative = candidates[None, :] != target[:, None]
        loss = bpr_max_loss(scores, positive, negative, self.bpr_max_regularization)
        return {"reconstruction": loss}
