"""NARM: neural attentive session-based recommendation (Li et al., CIKM 2017)."""

import torch
import torch.nn.functional as F
from torch import nn

from .base import SessionNetwork
from .layers import NARMEncoder, seeded_dropout

__all__ = ["NARMNetwork"]


class NARMNetwork(SessionNetwork):
    """GRU + attention encoder; scores ``E_i^T B [h_t; c_l]`` against the item embeddings ``E``.

    Parameters
    ----------
    n_items : int
    embedding_dim, hidden_size : int
    embedding_dropout, context_dropout : float
        Dropout on the click embeddings and on ``[h_t; c_l]`` (NARM: 0.25 and 0.5).
    attention : {"narm", "softmax"}
    """

    def __init__(self, n_items, embedding_dim, hidden_size, embedding_dropout, context_dropout,
                 attention="narm"):
        super().__init__()
        self.encoder = NARMEncoder(n_items + 1, embedding_dim, hidden_size, attention)
        self.bilinear = nn.Linear(2 * hidden_size, embedding_dim, bias=False)
        self.embedding_dropout = embedding_dropout
        self.context_dropout = context_dropout

    def query(self, x, generator=None):
        h_t, c_l = self.encoder(x, self.embedding_dropout, generator)
        context = torch.cat([h_t, c_l], dim=1)
        context = seeded_dropout(context, self.context_dropout, generator, self.training)
        return self.bilinear(context)

    def item_weights(self):
        return self.encoder.embedding.weight[1:]

    def candidate_weights(self, items):
        return F.embedding(items + 1, self.encoder.embedding.weight, sparse=self.sparse_gradients)
