"""ReLaVaR: recurrent latent variable networks (Chatzis, Christodoulou & Andreou, DLRS 2017)."""

import torch
from torch import nn

from .base import SessionNetwork
from .gru4rec import ItemOutput
from .layers import item_embedding, seeded_dropout

__all__ = ["ReLaVaRNetwork"]


class ReLaVaRNetwork(SessionNetwork):
    """GRU4Rec whose recurrent state is a Gaussian latent variable at every click.

    At click ``t`` (embedding ``e_t``) the state is ``z_t ~ q(z_t | e_t, z_{t-1}) =
    N(mu_t, diag sigma_t^2)`` with ``mu_t = GRUCell(e_t, z_{t-1})`` and
    ``log sigma_t^2 = W_v mu_t + b_v``; the prior of every ``z_t`` is ``N(0, I)``. The next item
    is scored from the last state as in GRU4Rec, ``score_i = W_i . z_L + b_i`` with separate
    output embeddings. Training samples every ``z_t`` (reparameterised, noise from the passed
    generator) and feeds the sample to the next step. The regulariser of a prefix of ``L``
    clicks is the KL term of its last step, ``KL(q(z_L | e_L, z_{L-1}) || N(0, I))``, divided by
    ``hidden_size`` (nats per latent dimension, as VASER's flow term): the evidence lower bound
    of a session, one likelihood and one KL term per click, splits over its prefixes that way,
    each step counted once. In eval mode every ``z_t = mu_t``:
    predictions are deterministic. An empty prefix keeps ``z_0 = 0`` (and a zero regulariser).

    Parameters
    ----------
    n_items : int
    embedding_dim, hidden_size : int
        ``hidden_size`` is the dimension of the latent states.
    embedding_dropout, context_dropout : float
        Dropout on the click embeddings and on ``z_L``.
    """

    #: Initial ``log sigma^2`` (its weights start at zero): the posterior starts with unit variance.
    INITIAL_LOG_VAR = 0.0

    def __init__(self, n_items, embedding_dim, hidden_size, embedding_dropout, context_dropout):
        super().__init__()
        self.embedding = item_embedding(n_items + 1, embedding_dim)
        self.cell = nn.GRUCell(embedding_dim, hidden_size)
        self.log_var = nn.Linear(hidden_size, hidden_size)
        nn.init.zeros_(self.log_var.weight)
        nn.init.constant_(self.log_var.bias, self.INITIAL_LOG_VAR)
        self.output = ItemOutput(n_items, hidden_size)
        self.hidden_size = hidden_size
        self.embedding_dropout, self.context_dropout = embedding_dropout, context_dropout

    def _last_state(self, x, generator):
        """The last latent state ``z_L`` (B, hidden_size) and its KL term (B,), 0 in eval mode."""
        z = torch.zeros(len(x), self.hidden_size, device=x.device)
        kl = torch.zeros(len(x), device=x.device)
        if x.shape[1] == 0:
            return z, kl
        embedded = seeded_dropout(self.embedding(x), self.embedding_dropout, generator,
                                  self.training)
        for t in range(x.shape[1]):  # the sample z_t feeds step t + 1: steps run in sequence
            mean = self.cell(embedded[:, t], z)
            if not self.training:
                z = mean
                continue
            log_var = self.log_var(mean)
            eps = torch.randn(mean.shape, generator=generator, device=mean.device)
            z = mean + torch.exp(0.5 * log_var) * eps
        if self.training:  # the KL of the last step only: see the class docstring
            kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)
        return z, kl

    def query(self, x, generator=None):
        z, _ = self._last_state(x, generator)
        z = seeded_dropout(z, self.context_dropout, generator, self.training)
        return self.output.query(z)

    def item_weights(self):
        return self.output.weights()

    def candidate_weights(self, items):
        return self.output.weights(items, sparse=self.sparse_gradients)

    def sparse_parameters(self):
        return super().sparse_parameters() + ([self.output.weight] if self.sparse_gradients else [])

    def loss_terms(self, x, y, generator):
        z, kl = self._last_state(x, generator)
        z = seeded_dropout(z, self.context_dropout, generator, self.training)
        return {
            "reconstruction": self.reconstruction(self.output.query(z), y),
            "regularization": kl.mean() / self.hidden_size,
        }
