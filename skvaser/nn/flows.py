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
from torch.autograd.function import once_differentiable

from .layers import linear

__all__ = ["planar_flows", "PlanarFlowParameters"]

_SHIFT = math.log(math.e - 1.0)  # softplus(_SHIFT) == 1, so m(0) == 0


def constrain_u(u, w):
    """``u_hat`` with ``w^T u_hat >= -1`` (shapes (..., d))."""
    wu = (w * u).sum(-1, keepdim=True)
    m = F.softplus(wu + _SHIFT) - 1.0
    return u + (m - wu) / (w * w).sum(-1, keepdim=True).clamp_min(1e-12) * w


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
    ``u_hat_k = u_k + c_k w_k`` with ``c_k = (m(w_k^T u_k) - w_k^T u_k) / ||w_k||^2``, and flow
    ``k`` adds ``u_hat_k a_k`` to ``z``, with ``a_k = tanh(w_k^T z_k + b_k)``. So
    ``z_K = z + sum_k a_k u_k + sum_k a_k c_k w_k``, and the input of each activation is

        w_k^T z_k + b_k = (w_k^T z + b_k) + sum_{j<k} (w_k^T u_j + c_j w_k^T w_j) a_j,

    a recurrence of ``K`` numbers per sample; everything of size (B, K, d) is a few batched
    products: the Gram matrices ``w_k^T u_j`` and ``w_k^T w_j`` (their diagonals give
    ``w^T u`` and ``||w||^2``), ``w_k^T z`` and the sums of ``z_K``. ``u_hat`` itself is never
    formed (:func:`constrain_u` forms it). The backward pass is written by hand
    (:class:`_PlanarFlows`): autograd's gradients of the batched products of small matrices
    take strided layouts that run slower. Its speed against autograd and against a loop over
    the flows is measured in ``benchmarks/README.md``.
    """
    if u.dim() == 2:  # shared flows: the same for every sample (the gradient sums over them)
        shape = (len(z),) + u.shape
        u, w, b = u.expand(shape), w.expand(shape), b.expand(shape[:2])
    return _PlanarFlows.apply(z, u, w, b)


class _PlanarFlows(torch.autograd.Function):
    """:func:`planar_flows` for per-sample ``u, w`` (B, K, d) and ``b`` (B, K)."""

    @staticmethod
    def forward(ctx, z, u, w, b):
        gram_wu = torch.bmm(w, u.transpose(1, 2))  # w_k^T u_j: (B, K, K)
        gram_ww = torch.bmm(w, w.transpose(1, 2))  # w_k^T w_j
        wu = gram_wu.diagonal(dim1=1, dim2=2)
        squared_norms = gram_ww.diagonal(dim1=1, dim2=2)
        m = F.softplus(wu + _SHIFT) - 1.0  # w^T u_hat
        scales = (m - wu) / squared_norms.clamp_min(1e-12)  # c: u_hat = u + c w
        couplings = torch.addcmul(gram_wu, gram_ww, scales[:, None, :])  # w_k^T u_hat_j
        offsets = (w * z[:, None, :]).sum(-1) + b
        activations = _activations(offsets, couplings)  # (B, K)
        z_k = torch.baddbmm(z[:, None, :], activations[:, None, :], u)
        z_k = z_k.baddbmm_((activations * scales)[:, None, :], w)[:, 0]
        # det J_k = 1 + (1 - a_k^2) w_k^T u_hat_k, and w^T u_hat >= -1 keeps it >= 0
        determinants = 1.0 + (1.0 - activations**2) * m
        ctx.save_for_backward(z, u, w, gram_ww, couplings, wu, squared_norms, m, scales,
                              activations, determinants)
        return z_k, torch.log(determinants.abs() + 1e-8).sum(-1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_z_k, grad_log_det):
        (z, u, w, gram_ww, couplings, wu, squared_norms, m, scales, activations,
         determinants) = ctx.saved_tensors
        # log |det J_k| (the 1e-8 as in the forward pass)
        grad_determinants = grad_log_det[:, None] * determinants.sign()
        grad_determinants /= determinants.abs() + 1e-8
        grad_activations = grad_determinants * -2.0 * activations * m
        grad_m = grad_determinants * (1.0 - activations**2)
        # z_K = z + sum_k a_k u_k + sum_k a_k c_k w_k
        u_grad_z = (u * grad_z_k[:, None, :]).sum(-1)  # u_k^T dz_K: (B, K)
        w_grad_z = (w * grad_z_k[:, None, :]).sum(-1)
        grad_activations += u_grad_z + scales * w_grad_z
        grad_scales = activations * w_grad_z
        grad_u = activations[:, :, None] * grad_z_k[:, None, :]
        grad_w = (activations * scales)[:, :, None] * grad_z_k[:, None, :]
        # the activations' inputs: offsets_k = w_k^T z + b_k, and the couplings
        grad_offsets, grad_couplings = _activations_backward(grad_activations, couplings,
                                                             activations)
        grad_w.addcmul_(grad_offsets[:, :, None], z[:, None, :])
        grad_z = torch.baddbmm(grad_z_k[:, None, :], grad_offsets[:, None, :], w)[:, 0]
        # couplings_kj = (w^T u)_kj + (w^T w)_kj c_j, read below the diagonal
        grad_gram_wu = grad_couplings
        grad_gram_ww = grad_couplings * scales[:, None, :]
        grad_scales += (grad_couplings * gram_ww).sum(1)
        # c = (m - w^T u) / max(||w||^2, 1e-12), m = softplus(w^T u + shift) - 1
        clamped_norms = squared_norms.clamp_min(1e-12)
        grad_m += grad_scales / clamped_norms
        grad_wu = grad_m * torch.sigmoid(wu + _SHIFT) - grad_scales / clamped_norms
        grad_squared_norms = -grad_scales * scales / clamped_norms * (squared_norms >= 1e-12)
        grad_gram_wu.diagonal(dim1=1, dim2=2).add_(grad_wu)
        grad_gram_ww.diagonal(dim1=1, dim2=2).add_(grad_squared_norms)
        # the Gram matrices w u^T and w w^T
        grad_w.baddbmm_(grad_gram_wu, u).baddbmm_(grad_gram_ww + grad_gram_ww.transpose(1, 2), w)
        grad_u.baddbmm_(grad_gram_wu.transpose(1, 2), w)
        return grad_z, grad_u, grad_w, grad_offsets


def _activations(offsets, couplings):
    """``a_k = tanh(offsets_k + sum_{j<k} couplings_kj a_j)``, one flow after the other.

    ``offsets`` (B, K); ``couplings`` (B, K, K), read below the diagonal. Returns (B, K).
    """
    pre_activations = offsets.clone()
    activations = torch.empty_like(offsets)
    for k in range(offsets.shape[1]):
        a_k = torch.tanh(pre_activations[:, k], out=activations[:, k])
        # the later flows' inputs receive u_hat_k a_k, through the couplings
        pre_activations[:, k + 1 :].addcmul_(couplings[:, k + 1 :, k], a_k[:, None])
    return activations


def _activations_backward(grad_activations, couplings, activations):
    """Gradients of :func:`_activations` with respect to its offsets (B, K) and to its
    couplings (B, K, K; zero on and above the diagonal)."""
    grad_activations = grad_activations.clone()
    derivatives = 1.0 - activations**2  # tanh'
    grad_pre = torch.empty_like(activations)
    for k in reversed(range(activations.shape[1])):
        torch.mul(grad_activations[:, k], derivatives[:, k], out=grad_pre[:, k])
        grad_activations[:, :k].addcmul_(couplings[:, k, :k], grad_pre[:, k, None])
    # d pre_k / d couplings_kj = a_j, below the diagonal
    return grad_pre, torch.tril(grad_pre[:, :, None] * activations[:, None, :], diagonal=-1)


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
