"""Planar flows and VASER's variational regulariser, checked against autograd and closed forms."""

import math

import numpy as np
import pytest
import torch
from _settings import TINY_VASER_NETWORK
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.autograd.functional import jacobian

from skvaser.nn.flows import PlanarFlowParameters, constrain_u, planar_flows
from skvaser.nn.vaser import VASERNetwork

fast = settings(max_examples=60, deadline=None)


def random_flows(seed, batch, dim, n_flows, amortized, u_scale):
    """Random ``z`` (batch, dim) and flow parameters, per sample or shared, in float64."""
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape, scale=1.0):
        return scale * torch.randn(*shape, generator=generator, dtype=torch.float64)

    head = (batch, n_flows) if amortized else (n_flows,)
    z = draw(batch, dim, scale=2.0)
    return z, draw(*head, dim, scale=u_scale), draw(*head, dim), draw(*head)


def _floats(bound):
    return st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)


@st.composite
def _flow_case(draw, batch=3):
    """``(z, (u, w, b), amortized, directions)``: float64 tensors drawn entry by entry, so that
    a failure shrinks to small, round numbers. ``u`` is drawn at one of four scales (0 gives
    the identity flows); ``directions`` weight ``(z_K, log_det)`` for a gradient check."""
    dim, n_flows, amortized = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.booleans())
    head = (batch, n_flows) if amortized else (n_flows,)

    def tensor(shape, bound):
        return torch.from_numpy(draw(hnp.arrays(np.float64, shape, elements=_floats(bound))))

    z = tensor((batch, dim), 6.0)
    u = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0])) * tensor((*head, dim), 3.0)
    params = (u, tensor((*head, dim), 3.0), tensor(head, 3.0))
    directions = (tensor((batch, dim), 1.0), tensor((batch,), 1.0))
    return z, params, amortized, directions


#: Flows (batch 3) for the property tests: one argument, ``case`` (see :func:`_flow_case`).
flow_cases = given(case=_flow_case())


def sample_params(params, index, amortized):
    """The flow parameters of sample ``index`` as a batch of one (shared ones as they are)."""
    if not amortized:
        return params
    return tuple(p[index : index + 1] for p in params)


def flow_jacobians(z, params, amortized):
    """Autograd Jacobian of ``z -> z_K`` of each sample, and of each single flow along the way.

    Returns ``(full, single)``: ``full[b]`` is the (d, d) Jacobian of all flows at ``z[b]``;
    ``single[b][k]`` the Jacobian of flow ``k`` alone at its input.
    """
    full, single = [], []
    n_flows = params[0].shape[-2]
    for b in range(len(z)):
        u, w, bias = sample_params(params, b, amortized)
        full.append(jacobian(lambda x: planar_flows(x[None], u, w, bias)[0][0], z[b]))
        per_flow, current = [], z[b : b + 1]
        for k in range(n_flows):
            one = (u[..., k : k + 1, :], w[..., k : k + 1, :], bias[..., k : k + 1])
            flow = lambda x, one=one: planar_flows(x[None], *one)[0][0]  # noqa: E731
            per_flow.append(jacobian(flow, current[0]))
            current = planar_flows(current, *one)[0]
        single.append(per_flow)
    return full, single


# ---------------------------------------------------------------------- log-determinant
@pytest.mark.parametrize("amortized", [True, False], ids=["amortized", "shared"])
@pytest.mark.parametrize("n_flows", [1, 4])
@pytest.mark.parametrize("seed", range(3))
def test_log_det_equals_autograd_jacobian(amortized, n_flows, seed):
    z, *params = random_flows(seed, 4, 3, n_flows, amortized, u_scale=1.0)
    z_k, log_det = planar_flows(z, *params)
    assert z_k.shape == z.shape and log_det.shape == (len(z),)
    assert z_k.dtype == log_det.dtype == torch.float64
    full, _ = flow_jacobians(z, params, amortized)
    expected = torch.stack([torch.linalg.slogdet(j).logabsdet for j in full])
    torch.testing.assert_close(log_det, expected, atol=1e-6, rtol=0)
    # z_K is the composition of the flows, one at a time
    current = z
    for k in range(n_flows):
        current = planar_flows(current, *(p[..., k : k + 1, :] for p in params[:2]),
                               params[2][..., k : k + 1])[0]
    torch.testing.assert_close(z_k, current)


@fast
@flow_cases
def test_log_det_equals_autograd_jacobian_property(case):
    z, params, amortized, _ = case
    _, log_det = planar_flows(z, *params)
    full, single = flow_jacobians(z, params, amortized)
    # The implementation adds 1e-8 inside each log (so an exactly singular flow stays finite):
    # compare where every single flow's |det J_k| is well away from zero.
    assume(all(abs(torch.linalg.det(j)) > 1e-3 for per_flow in single for j in per_flow))
    expected = torch.stack([torch.linalg.slogdet(j).logabsdet for j in full])
    torch.testing.assert_close(log_det, expected, atol=1e-5, rtol=0)


def test_log_det_is_finite_when_a_flow_is_singular():
    # w^T u_hat -> -1 and w^T z + b = 0 make 1 + u_hat^T psi(z) = 0: a flat direction.
    w = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    u = -1e3 * w
    z = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    _, log_det = planar_flows(z, u, w, torch.zeros(1, dtype=torch.float64))
    assert torch.isfinite(log_det).all()


def one_flow_at_a_time(z, u, w, b):
    """The definition, flow by flow: ``z <- z + u_hat_k tanh(w_k^T z + b_k)``, and the sum of
    ``log |1 + (1 - tanh^2) w_k^T u_hat_k|`` (plus 1e-8, as in :func:`planar_flows`)."""
    u_hat = constrain_u(u, w)
    log_det = torch.zeros(len(z), dtype=z.dtype)
    for k in range(u.shape[-2]):
        u_k, w_k, b_k = u_hat[..., k, :], w[..., k, :], b[..., k]
        activation = torch.tanh((z * w_k).sum(-1) + b_k)
        z = z + u_k * activation[:, None]
        determinant = 1 + (1 - activation**2) * (w_k * u_k).sum(-1)
        log_det = log_det + torch.log(determinant.abs() + 1e-8)  # the 1e-8 of planar_flows
    return z, log_det


@fast
@flow_cases
def test_flows_equal_their_definition_and_its_gradients(case):
    """``z_K``, the log-determinant and their gradients (written by hand) equal those of the
    flow-by-flow definition with ``u_hat`` formed explicitly."""
    z, params, _, directions = case
    # At w_k = 0 the correction c_k w_k of u_hat has no derivative (its limit depends on the
    # direction w_k comes from): the two gradients may differ there and nowhere else.
    assume(((params[1] ** 2).sum(-1) > 1e-6).all())
    inputs = [x.requires_grad_() for x in (z, *params)]
    found, expected = planar_flows(*inputs), one_flow_at_a_time(*inputs)
    assume(all(torch.isfinite(x).all() for x in expected))
    for got, want in zip(found, expected):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-7)  # float64, two sum orders
    grads_found = torch.autograd.grad(found, inputs, directions)
    grads_expected = torch.autograd.grad(expected, inputs, directions)
    for got, want in zip(grads_found, grads_expected):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------- invertibility
vectors = st.integers(1, 6).flatmap(
    lambda d: st.tuples(
        *[hnp.arrays(np.float64, d, elements=st.floats(-100, 100, allow_subnormal=False))] * 2
    )
)


def _w_dot_u_hat(u, w):
    u, w = torch.as_tensor(u), torch.as_tensor(w)
    return (w * constrain_u(u, w)).sum(-1).item(), (w * u).sum().item()


@settings(max_examples=300, deadline=None)
@given(vectors)
def test_constrain_u_keeps_w_dot_u_hat_above_minus_one(uw):
    u, w = uw
    value, wu = _w_dot_u_hat(u, w)
    assert math.isfinite(value)
    assert value >= -1.0 - 1e-12 * max(1.0, abs(wu))


@settings(max_examples=200, deadline=None)
@given(
    w=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-10, 10, allow_subnormal=False)),
    c=st.floats(0, 1e6),
)
def test_constrain_u_adversarial_u_opposite_to_w(w, c):
    assume(np.dot(w, w) > 1e-6)
    u = -c * w  # the direction that would make the flow non-invertible
    value, wu = _w_dot_u_hat(u, w)
    assert value >= -1.0 - 1e-12 * max(1.0, abs(wu))


def test_constrain_u_only_moves_u_along_w():
    """``u_hat - u`` is parallel to ``w``, and ``w^T u_hat = m(w^T u)``."""
    w = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    for u in (10.0 * w, torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64), -10.0 * w):
        u_hat = constrain_u(u, w)
        moved = u_hat - u
        across = moved - (moved @ w) / (w @ w) * w
        torch.testing.assert_close(across, torch.zeros(3, dtype=torch.float64))
        wu = u @ w
        expected = torch.nn.functional.softplus(wu + math.log(math.e - 1)) - 1
        torch.testing.assert_close(u_hat @ w, expected)
    # m(0) = 0 and m(x) -> x - 1 + log(e - 1) for large x
    assert abs(_w_dot_u_hat(torch.zeros(3, dtype=torch.float64), w)[0]) < 1e-12
    # batched shapes (B, K, d) are constrained row by row
    u = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    batched = constrain_u(u, w)
    assert batched.shape == u.shape
    torch.testing.assert_close(batched[2, 1], constrain_u(u[2, 1], w[2, 1]))
    assert ((w * batched).sum(-1) >= -1).all()


@pytest.mark.parametrize("amortized", [True, False], ids=["amortized", "shared"])
def test_u_zero_is_the_identity(amortized):
    z, u, w, b = random_flows(0, batch=5, dim=4, n_flows=3, amortized=amortized, u_scale=0.0)
    assert not u.any()
    z_k, log_det = planar_flows(z, u, w, b)
    torch.testing.assert_close(z_k, z, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, torch.zeros(5, dtype=torch.float64), atol=1e-7, rtol=0)


@pytest.mark.parametrize("amortized", [True, False], ids=["amortized", "shared"])
def test_flows_start_as_the_identity(amortized):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        flows = PlanarFlowParameters(n_flows=3, latent_dim=4, source_dim=6, amortized=amortized)
    source = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    u, w, b = flows(source)
    expected_shape = (5, 3, 4) if amortized else (3, 4)
    assert u.shape == w.shape == expected_shape and b.shape == expected_shape[:-1]
    assert not u.any() and w.abs().sum() > 0
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    z_k, log_det = planar_flows(z, u, w, b)
    torch.testing.assert_close(z_k, z, atol=1e-6, rtol=0)
    torch.testing.assert_close(log_det, torch.zeros(5), atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", range(5))
def test_flow_is_monotone_along_w(seed):
    """``w^T f(z)`` is non-decreasing in ``w^T z``, so ``f`` is one-to-one (one flow)."""
    z0, u, w, b = random_flows(seed, batch=1, dim=3, n_flows=1, amortized=False, u_scale=20.0)
    if seed % 2 == 0:  # every other seed: u against w, where w^T u_hat approaches -1
        u = -u.abs() * w.sign()
    direction = w[0] / w[0].norm()
    t = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    z = z0 + t[:, None] * direction
    projected = planar_flows(z, u, w, b)[0] @ w[0]
    assert (projected.diff() >= -1e-9).all()
    # ... and the Jacobian's determinant never changes sign along the line: it stays positive
    # (autograd's Jacobian, row by row of the output), and log_det is its logarithm
    z = z.requires_grad_()
    z_k, log_det = planar_flows(z, u, w, b)
    rows = [torch.autograd.grad(z_k[:, i].sum(), z, retain_graph=True)[0] for i in range(3)]
    determinant = torch.linalg.det(torch.stack(rows, dim=1))  # (2001,)
    assert (determinant > 0).all()
    expected = (determinant + 1e-8).log()  # the 1e-8 of planar_flows
    torch.testing.assert_close(log_det.detach(), expected, atol=1e-6, rtol=0)


# ---------------------------------------------------------------------- K = 0: Gaussian VAE
def _gaussian_vae(seed=0, latent_dim=3):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = VASERNetwork(**{**TINY_VASER_NETWORK, "latent_dim": latent_dim, "n_flows": 0})
        with torch.no_grad():  # a posterior well away from the prior
            network.mean.bias.copy_(torch.linspace(-1.0, 1.5, latent_dim))
            network.log_var.bias.copy_(torch.linspace(-1.0, 0.8, latent_dim))
    return network


def _posterior(network, x):
    h_t, _ = network.encoder(x, 0.0, None)
    return network.mean(h_t), network.log_var(h_t)


def test_no_flows_regulariser_is_the_gaussian_monte_carlo_term():
    network = _gaussian_vae().train()
    assert network.flows is None
    x = torch.tensor([[1, 2, 3], [4, 4, 5], [7, 1, 2]])
    decoded, regularization = network._latent(x, torch.Generator().manual_seed(3))
    # the same draw, by hand: the only randomness without dropout is eps
    eps = torch.randn((3, 3), generator=torch.Generator().manual_seed(3))
    mean, log_var = _posterior(network, x)
    z = mean + torch.exp(0.5 * log_var) * eps
    # nats per latent dimension
    expected = 0.5 * (z.pow(2) - log_var - eps.pow(2)).sum(dim=1) / z.shape[1]
    torch.testing.assert_close(regularization, expected)
    torch.testing.assert_close(decoded[:, :3], z)  # decoder input [z; c_l], z_K = z_0
    terms = network.loss_terms(x, torch.tensor([1, 2, 3]), torch.Generator().manual_seed(3))
    torch.testing.assert_close(terms["regularization"], expected.mean())


def test_no_flows_regulariser_is_the_kl_divergence_in_expectation():
    network = _gaussian_vae().train()
    n = 20_000
    x = torch.tensor([[1, 2, 3]]).repeat(n, 1)  # one prefix, n independent draws of eps
    with torch.no_grad():
        _, regularization = network._latent(x, torch.Generator().manual_seed(0))
        mean, log_var = _posterior(network, x[:1])
    kl = 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1.0).mean()  # per latent dimension
    estimate = regularization.double().mean()
    standard_error = regularization.double().std() / math.sqrt(n)
    assert kl > 0.1  # the check would be vacuous at the prior
    assert abs(estimate - kl) < 4 * standard_error, (estimate, kl, standard_error)


def test_eval_mode_uses_the_posterior_mean():
    network = _gaussian_vae().eval()
    x = torch.tensor([[1, 2, 3], [5, 6, 7]])
    decoded, regularization = network._latent(x, None)
    assert regularization is None
    mean, _ = _posterior(network, x)
    torch.testing.assert_close(decoded[:, :3], mean)
    # the noise it is given is not used: two generators give the same query (in training mode,
    # they do not)
    draws = [torch.Generator().manual_seed(seed) for seed in (1, 2)]
    assert torch.equal(network.query(x, draws[0]), network.query(x, draws[1]))
    network.train()
    assert not torch.equal(network.query(x, draws[0]), network.query(x, draws[1]))


@pytest.mark.parametrize("amortized", [True, False], ids=["amortized", "shared"])
@pytest.mark.parametrize("n_flows", [1, 3])
def test_hand_written_backward_matches_finite_differences(amortized, n_flows):
    """The gradients of ``z_K`` and of the log-determinant with respect to ``z``, ``u``, ``w``
    and ``b`` (the flows' backward is written by hand) agree with finite differences."""
    generator = torch.Generator().manual_seed(n_flows)
    batch, dim = 3, 4
    lead = (batch,) if amortized else ()

    def leaf(*shape, scale=1.0):
        x = scale * torch.randn(*shape, generator=generator, dtype=torch.float64)
        return x.requires_grad_()

    z = leaf(batch, dim)
    u, w, b = leaf(*lead, n_flows, dim), leaf(*lead, n_flows, dim), leaf(*lead, n_flows, scale=0.5)
    assert torch.autograd.gradcheck(planar_flows, (z, u, w, b))
