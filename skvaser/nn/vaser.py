"""VASER: variational session-based recommendation with planar flows (Zhou et al., WWW 2019)."""

import torch
import torch.nn.functional as F
from torch import nn

from .base import SessionNetwork, sessions_of
from .flows import PlanarFlowParameters, planar_flows
from .layers import NARMEncoder, seeded_dropout

__all__ = ["VASERNetwork", "gaussian_heads"]

#: Initial log-variance of q(z0|s): sigma_0 = exp(-4) ~ 0.018, so z0 starts close to its mean.
INITIAL_LOG_VARIANCE = -8.0


def gaussian_heads(source_dim, latent_dim):
    """The mean and log-variance heads of a Gaussian posterior ``q(z0|source)``.

    The mean head starts as the identity (on the first ``min(latent_dim, source_dim)``
    coordinates), the log-variance head at ``INITIAL_LOG_VARIANCE`` whatever the source.
    """
    mean, log_var = nn.Linear(source_dim, latent_dim), nn.Linear(source_dim, latent_dim)
    nn.init.eye_(mean.weight)
    nn.init.zeros_(mean.bias)
    nn.init.zeros_(log_var.weight)
    nn.init.constant_(log_var.bias, INITIAL_LOG_VARIANCE)
    return mean, log_var


class VASERNetwork(SessionNetwork):
    """NARM encoder -> Gaussian ``q(z0|s)`` -> ``K`` planar flows -> ``z_K`` -> item scores.

    The latent is inferred from ``source`` = ``h_t`` (``latent_source="hidden"``, the paper's
    Figure 1) or ``[h_t; c_l]`` (``"session"``). The decoder scores
    ``E_i^T B d`` with ``d = [z_K; c_l]`` (``decoder="latent_attention"``) or ``d = z_K``
    (``"latent"``). Training samples ``z0 = mu + sigma * eps`` once per prefix; :meth:`query` in
    eval mode uses ``z0 = mu`` (deterministic prediction).

    The regulariser of a prefix is the flow term of the paper's Eq. 9,
    ``log q0(z0) - log p(z_K) - sum_k log|det J_k|`` with a standard normal prior, divided by
    ``latent_dim``: nats per latent dimension, so that ``beta`` does not depend on ``d``.

    The network starts as NARM: the mean head is the identity (on the first ``min(d, source)``
    coordinates), the posterior's standard deviation starts at ``exp(INITIAL_LOG_VARIANCE / 2)``
    (about 0.02) and the flows start as the identity.
    """

    def __init__(self, n_items, embedding_dim, hidden_size, latent_dim, n_flows, amortized_flows,
                 latent_source, decoder, embedding_dropout, context_dropout, attention="narm"):
        super().__init__()
        self.encoder = NARMEncoder(n_items + 1, embedding_dim, hidden_size, attention)
        source_dim = hidden_size * (2 if latent_source == "session" else 1)
        self.mean, self.log_var = gaussian_heads(source_dim, latent_dim)
        self.flows = (
            PlanarFlowParameters(n_flows, latent_dim, source_dim, amortized_flows)
            if n_flows
            else None
        )
        decoder_dim = latent_dim + (hidden_size if decoder == "latent_attention" else 0)
        self.bilinear = nn.Linear(decoder_dim, embedding_dim, bias=False)
        self.latent_source, self.decoder = latent_source, decoder
        self.embedding_dropout, self.context_dropout = embedding_dropout, context_dropout

    def _latent(self, x, generator):
        """Returns the decoder input (B, decoder_dim) and the regulariser (B,) or None."""
        h_t, c_l = self.encoder(x, self.embedding_dropout, generator)
        source = torch.cat([h_t, c_l], dim=1) if self.latent_source == "session" else h_t
        z, flow_term = self._posterior(source, self.mean, self.log_var, self.flows, generator)
        decoded = torch.cat([z, c_l], dim=1) if self.decoder == "latent_attention" else z
        decoded = seeded_dropout(decoded, self.context_dropout, generator, self.training)
        if not self.training:
            return decoded, None
        return decoded, flow_term / z.shape[1]

    def _posterior(self, source, mean, log_var, flows, generator):
        """A draw of the Gaussian ``q(.|source)`` (its mean in eval mode) pushed through
        ``flows`` (a :class:`PlanarFlowParameters` or None), and the draw's flow term
        ``log q0(z0) - log p(zK) - sum log|det J|`` (B,), or None in eval mode.

        ``mean``, ``log_var``: the heads of :func:`gaussian_heads`.
        """
        mean = mean(source)
        if not self.training:
            return (mean if flows is None else planar_flows(mean, *flows(source))[0]), None
        log_var = log_var(source)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device)
        z = mean + torch.exp(0.5 * log_var) * eps
        log_det = 0.0
        if flows is not None:
            z, log_det = planar_flows(z, *flows(source, self.product_dtype))
        # the log(2 pi) terms cancel
        return z, 0.5 * (z.pow(2) - log_var - eps.pow(2)).sum(dim=1) - log_det

    def query(self, x, generator=None):
        return self.bilinear(self._latent(x, generator)[0])

    def item_weights(self):
        return self.encoder.embedding.weight[1:]

    def candidate_weights(self, items):
        return F.embedding(items + 1, self.encoder.embedding.weight, sparse=self.sparse_gradients)

    def loss_terms(self, x, y, generator):
        decoded, regularization = self._latent(x, generator)
        return {
            "reconstruction": self.reconstruction(self.bilinear(decoded), y, sessions_of(x)),
            "regularization": regularization.mean(),
        }
