"""Planar normalizing flows (Rezende & Mohamed, 2015), amortised or shared.

One planar flow maps ``f(z) = z + u_hat * tanh(w^T z + b)`` with

    log |det df/dz| = log |1 + u_hat^T psi(z)|,   psi(z) = (1 - tanh^2(w^T z + b)) w.

``u_hat`` makes ``f`` invertible by ensuring ``w^T u_hat >= -1``:

    u_hat = u + (m(w^T u) - w^T u) w / ||w||^2,   m(x) = -1 + softplus(x + log(e - 1)).

``m`` maps onto (-1, inf) and has ``m(0) = 0`` (the choice of Rezende & Mohamed, ``-1 +
softplus(x)``, has ``m(0) = -0.31``): with ``u = 0`` the flow is exactly the identity, which is
how the flows start here (the ``u`` parameters or heads are initialised at zero).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import linear

__all__ = ["planar_flows", "PlanarFlowParameters"]

_SHIFT = math.log(math.e - 1.0)  # softplus(_SHIFT) == 1, so m(0) == 0


def constrain_u(u, w):
    """``u_hat`` with ``w^T u_hat >= -1`` (shapes (..., d))."""
    return _constrained(u, w)[0]


def _constrained(u, w):
    """``u_hat`` (..., d) and ``w^T u_hat`` (...), which equals ``m(w^T u)`` wherever
    ``||w||^2 >= 1e-12``."""
    wu = (w * u).sum(-1, keepdim=True)
    m = F.softplus(wu + _SHIFT) - 1.0
    # the (..., 1) factor first, so that only one product spans (..., d)
    u_hat = u + (m - wu) / (w * w).sum(-1, keepdim=True).clamp_min(1e-12) * w
    return u_hat, m.squeeze(-1)


def planar_flows(z, u, w, b):
    """Push ``z`` through ``K`` planar flows.

    Parameters
    ----------
    z : Tensor (B, d)
    u, w : Tensor (B, K, d) or (K, d)
        Unconstrained flow directions, per sample (amortised) or shared.
    b : Tensor (B, K) or (K,)

    Returns
    -------
    z_K : Tensor (B, d)
    log_det : Tensor (B,)
        ``sum_k log |det J_k|``.

    Notes
    -----
    Only the ``K`` steps ``z <- z + u_hat_k tanh(w_k^T z + b_k)`` are sequential. What does not
    depend on ``z`` (``u_hat`` and ``w_k^T u_hat_k``) is computed for all flows at once before
    the loop, and the log-determinants from the stacked activations after it, so that a flow
    costs six small tensor operations forward and as many backward (the parameters of every flow
    are taken with ``unbind``, whose gradient is one stack, not ``K`` zero-filled copies).
    """
    # psi_k^T u_hat_k = (1 - tanh^2) w_k^T u_hat_k, and w^T u_hat >= -1 keeps 1 + psi^T u_hat >= 0
    u_hat, wu = _constrained(u, w)  # wu = w^T u_hat: (B, K) or (K,)
    activations = []
    for u_k, w_k, b_k in zip(u_hat.unbind(-2), w.unbind(-2), b.unbind(-1)):
        activation = torch.tanh((z * w_k).sum(-1) + b_k)  # (B,)
        z = z + u_k * activation[:, None]
        activations.append(activation)
    log_det = torch.zeros(len(z), device=z.device, dtype=z.dtype)
    if activations:
        terms = torch.log((1.0 + (1.0 - torch.stack(activations, -1) ** 2) * wu).abs() + 1e-8)
        for term in terms.unbind(-1):  # summed flow by flow, in order
            log_det = log_det + term
    return z, log_det


class PlanarFlowParameters(nn.Module):
    """The ``(u, w, b)`` of ``n_flows`` planar flows in ``latent_dim`` dimensions.

    Amortised (Rezende & Mohamed): produced per sample by a linear head of the session encoding.
    Shared: one set of free parameters for every session.

    ``u`` starts at zero (identity flows); ``w`` starts as random directions of norm about one.
    """

    def __init__(self, n_flows, latent_dim, source_dim, amortized):
        super().__init__()
        self.n_flows, self.latent_dim, self.amortized = n_flows, latent_dim, amortized
        w_init = torch.randn(n_flows, latent_dim) / math.sqrt(latent_dim)
        if amortized:
            self.u = nn.Linear(source_dim, n_flows * latent_dim)
            self.w = nn.Linear(source_dim, n_flows * latent_dim)
            self.b = nn.Linear(source_dim, n_flows)
            for head in (self.u, self.w, self.b):
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
            with torch.no_grad():
                self.w.bias.copy_(w_init.reshape(-1))
        else:
            self.u = nn.Parameter(torch.zeros(n_flows, latent_dim))
            self.w = nn.Parameter(w_init)
            self.b = nn.Parameter(torch.zeros(n_flows))

    def forward(self, source, product_dtype=None):
        """``(u, w, b)`` for a batch whose session encoding is ``source`` (B, source_dim).

        ``product_dtype`` (e.g. ``torch.bfloat16``): precision of the amortised heads' matrix
        products (:func:`~skvaser.nn.layers.linear`), the largest of VASER's encoder.
        """
        if not self.amortized:
            return self.u, self.w, self.b
        shape = (len(source), self.n_flows, self.latent_dim)
        u, w, b = (linear(source, head, product_dtype) for head in (self.u, self.w, self.b))
        return u.view(shape), w.view(shape), b
