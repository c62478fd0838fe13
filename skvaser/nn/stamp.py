"""STAMP: short-term attention/memory priority model (Liu et al., KDD 2018)."""

import torch
import torch.nn.functional as F
from torch import nn

from .base import SessionNetwork
from .layers import item_embedding, seeded_dropout

__all__ = ["STAMPNetwork"]


class STAMPNetwork(SessionNetwork):
    """Attention over the session memory, primed by the last click; trilinear scores.

    With ``x_i`` the click embeddings of a prefix, ``x_t`` the last one and ``m_s`` their mean,

    - attention ``a_i = w0^T sigmoid(W1 x_i + W2 x_t + W3 m_s + b_a)``, ``m_a = sum_i a_i x_i``
      (unnormalised weights, as in the paper);
    - ``h_s = tanh(Ws m_a + bs)`` (general interest), ``h_t = tanh(Wt x_t + bt)`` (current
      interest);
    - ``score_j = <h_s * h_t, e_j>`` against the same item embeddings ``e`` (the query is
      ``h_s * h_t``).

    An empty prefix has ``m_a = x_t = 0``: its query is ``tanh(bs) * tanh(bt)``.

    Parameters
    ----------
    n_items : int
    embedding_dim : int
        Size ``d`` of the item embeddings and of every layer.
    embedding_dropout, context_dropout : float
        Dropout on the click embeddings and on the query ``h_s * h_t``.
    init_std : float or None
        Standard deviation of the normal initialisation of every weight but the item
        embeddings (:func:`~skvaser.nn.layers.item_embedding`); None keeps PyTorch's defaults.
    """

    def __init__(self, n_items, embedding_dim, embedding_dropout, context_dropout,
                 init_std=None):
        super().__init__()
        d = embedding_dim
        self.embedding = item_embedding(n_items + 1, d)
        self.w1 = nn.Linear(d, d, bias=False)
        self.w2 = nn.Linear(d, d, bias=False)
        self.w3 = nn.Linear(d, d)  # its bias is b_a
        self.w0 = nn.Linear(d, 1, bias=False)
        self.mlp_s = nn.Linear(d, d)
        self.mlp_t = nn.Linear(d, d)
        if init_std is not None:
            for name, parameter in self.named_parameters():
                if not name.startswith("embedding."):
                    nn.init.normal_(parameter, std=init_std)
        self.embedding_dropout, self.context_dropout = embedding_dropout, context_dropout

    def query(self, x, generator=None):
        if x.shape[1] == 0:
            zeros = torch.zeros(len(x), self.embedding.embedding_dim, device=x.device)
            m_a = m_t = zeros
        else:
            memory = seeded_dropout(self.embedding(x), self.embedding_dropout, generator,
                                    self.training)  # (B, L, d)
            m_t = memory[:, -1]
            m_s = memory.mean(dim=1)
            scores = torch.sigmoid(
                self.w1(memory) + (self.w2(m_t) + self.w3(m_s))[:, None, :]
            )
            m_a = (self.w0(scores) * memory).sum(dim=1)  # (B, d)
        h_s = torch.tanh(self.mlp_s(m_a))
        h_t = torch.tanh(self.mlp_t(m_t))
        return seeded_dropout(h_s * h_t, self.context_dropout, generator, self.training)

    def item_weights(self):
        return self.embedding.weight[1:]

    def candidate_weights(self, items):
        return F.embedding(items + 1, self.embedding.weight, sparse=self.sparse_gradients)
