"""Building blocks of the session networks: item embeddings, seeded dropout, NARM's encoder."""

import torch
from torch import nn

__all__ = ["seeded_dropout", "linear", "item_embedding", "NARMEncoder", "EMBEDDING_INIT_STD"]

#: Standard deviation of the normal initialisation of the item embeddings. PyTorch's default
#: (1.0) makes them learn slowly under Adam (steps of the learning rate against entries of size
#: 1), and where they also score the items (NARM, VASER) 0.1 starts the logits too flat; 0.2
#: scored best of the values tried (the runs are in ``benchmarks/README.md``).
EMBEDDING_INIT_STD = 0.2


def item_embedding(n_codes, embedding_dim):
    """Item embedding table of ``n_codes`` rows, drawn from N(0, EMBEDDING_INIT_STD^2).

    Row 0 (padding and unknown items) is zero and gets no gradient.
    """
    embedding = nn.Embedding(n_codes, embedding_dim, padding_idx=0)
    nn.init.normal_(embedding.weight, std=EMBEDDING_INIT_STD)
    with torch.no_grad():
        embedding.weight[0] = 0.0
    return embedding


def seeded_dropout(x, p, generator, training):
    """Inverted dropout whose mask is drawn from ``generator`` (the global RNG stays untouched)."""
    if not training or p == 0.0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) >= p
    return x * keep / (1.0 - p)


def linear(x, layer, product_dtype=None):
    """``layer(x)`` for an ``nn.Linear``, its matrix product in ``product_dtype``.

    The inputs of the product (and, backwards, of its two gradient products) are rounded to
    ``product_dtype`` (None: ``x``'s own precision, plain ``layer(x)``); the bias is added, and
    the result returned, in ``x``'s precision.
    """
    if product_dtype is None or product_dtype == x.dtype:
        return layer(x)
    product = x.to(product_dtype) @ layer.weight.to(product_dtype).T
    return product.to(x.dtype) + layer.bias


class NARMEncoder(nn.Module):
    """Item embedding -> GRU -> global context ``h_t`` and attention context ``c_l``.

    ``c_l = sum_j alpha_tj h_j`` with ``alpha_tj = v^T sigmoid(A1 h_t + A2 h_j)`` (Li et al., 2017),
    or the softmax of those weights over the clicks when ``attention="softmax"``.

    Parameters
    ----------
    n_codes : int
        Rows of the embedding table: ``n_items + 1`` (row 0 is padding/unknown, kept at zero).
    embedding_dim, hidden_size : int
    attention : {"narm", "softmax"}
    """

    def __init__(self, n_codes, embedding_dim, hidden_size, attention="narm"):
        super().__init__()
        self.embedding = item_embedding(n_codes, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.a1 = nn.Linear(hidden_size, hidden_size, bias=False)
        self.a2 = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)
        self.attention = attention
        self.hidden_size = hidden_size

    def forward(self, x, dropout, generator):
        """Encode a batch of equal-length prefixes.

        Parameters
        ----------
        x : LongTensor (B, L) of item codes, or SessionClicks
            ``L = 0`` for empty prefixes. A :class:`~skvaser.nn.batching.SessionClicks` encodes
            its ``N`` rows, prefixes of its sequences, with one pass over the sequences.
        dropout : float
            Dropout on the click embeddings.
        generator : torch.Generator or None

        Returns
        -------
        h_t, c_l : Tensor (B, hidden_size) each (N, for SessionClicks); zeros for empty
            prefixes.
        """
        session = step = None
        if not isinstance(x, torch.Tensor):
            x, session, step = x
        if x.shape[1] == 0:  # empty prefixes: the GRU's initial state, nothing to attend to
            zeros = torch.zeros(len(x), self.hidden_size, device=x.device)
            return zeros, zeros
        embedded = seeded_dropout(self.embedding(x), dropout, generator, self.training)
        states, last = self.gru(embedded)  # (B, L, H), (1, B, H)
        keys = self.a2(states)
        if session is None:
            return self._attend(last[0], states, keys)
        # each row attends to the states of its own clicks, those up to its step
        length = x.shape[1]
        visible = torch.arange(length, device=x.device) <= step[:, None]  # (N, L)
        h_t = states.flatten(0, 1).index_select(0, session * length + step)
        states, keys = states.index_select(0, session), keys.index_select(0, session)
        return self._attend(h_t, states, keys, visible)

    def _attend(self, h_t, states, keys, visible=None):
        """``h_t`` and the attention context ``c_l`` over ``states`` (B, L, H) with their
        ``keys`` ``A2 states``, of which only the ``visible`` ones (BoolTensor (B, L); default:
        all) count."""
        weights = self.v(torch.sigmoid(self.a1(h_t)[:, None, :] + keys))  # (B, L, 1)
        if self.attention == "softmax":
            if visible is not None:
                weights = weights.masked_fill(~visible[..., None], -torch.inf)
            weights = torch.softmax(weights, dim=1)
        elif visible is not None:
            weights = weights * visible[..., None]
        c_l = (weights * states).sum(dim=1)
        return h_t, c_l
