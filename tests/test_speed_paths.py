"""The fast paths change speed, never results: cache-sized blocks of scores."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import skvaser.nn.base as network_base
import skvaser.nn.softmax as softmax
from skvaser import NARMRecommender, sessions_to_prefixes
from skvaser._ranking import top_k_scores
from skvaser.datasets import make_sessions
from skvaser.nn.base import SessionNetwork
from skvaser.nn.layers import linear


class FixedQueries(SessionNetwork):
    """Queries looked up by row: ``x`` holds row numbers into a fixed query matrix."""

    def __init__(self, queries, weights):
        super().__init__()
        self.queries, self.weights = queries, weights

    def query(self, x, generator=None):
        return self.queries[x[:, 0]]

    def item_weights(self):
        return self.weights


@pytest.mark.parametrize("cache_cells", [1, 500, 2**21])
@pytest.mark.parametrize("max_rows", [None, 1, 7])
def test_score_blocks_do_not_change_the_top_k(cache_cells, max_rows, monkeypatch):
    generator = torch.Generator().manual_seed(0)
    queries = torch.randn(150, 6, generator=generator)
    weights = torch.randn(90, 6, generator=generator).round(decimals=1)  # some exact ties
    network = FixedQueries(queries, weights)
    expected = top_k_scores(queries, weights, 20, item_chunk=10**6)
    monkeypatch.setattr(network_base, "CACHE_CELLS", cache_cells)
    x = torch.arange(150)[:, None]
    for item_chunk in (13, 10**6):
        found = network.top_k(x, 20, item_chunk=item_chunk, max_rows=max_rows)
        np.testing.assert_array_equal(found, expected)


@st.composite
def _softmax_case(draw, max_items, max_cells, dim, bound, dtype):
    """``(query (B, dim), weights (n_items, dim), target (B,), cache_cells)``, the tensors
    drawn entry by entry in [-bound, bound] (so that a failure shrinks to small, round
    numbers), B in 1-12, n_items in 1-``max_items``, blocks of 1-``max_cells`` cells."""
    n_rows, n_items = draw(st.integers(1, 12)), draw(st.integers(1, max_items))
    elements = st.floats(-bound, bound, allow_nan=False, allow_subnormal=False, width=32)

    def tensor(shape):
        return torch.from_numpy(draw(hnp.arrays(np.float64, shape, elements=elements))).to(dtype)

    query, weights = tensor((n_rows, dim)), tensor((n_items, dim))
    target = torch.tensor(draw(st.lists(st.integers(0, n_items - 1), min_size=n_rows,
                                        max_size=n_rows)))
    return query, weights, target, draw(st.integers(1, max_cells))


def softmax_cases(max_items, max_cells, dim, bound, dtype):
    """The property tests' one argument, ``case`` (see :func:`_softmax_case`)."""
    return given(case=_softmax_case(max_items, max_cells, dim, bound, dtype))


def dense_and_blocked(query, weights, target, block_constant, cells, product_dtype=None):
    """``(loss, (grad_query, grad_weights))`` of ``F.cross_entropy`` on the dense logits, then of
    ``item_cross_entropy`` with ``softmax.<block_constant>`` set to ``cells``."""
    expected = F.cross_entropy(query @ weights.T, target)
    expected_grads = torch.autograd.grad(expected, (query, weights))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(softmax, block_constant, cells)
        found = softmax.item_cross_entropy(query, weights, target, product_dtype)
    return (expected, expected_grads), (found, torch.autograd.grad(found, (query, weights)))


@settings(max_examples=40, deadline=None)
@softmax_cases(max_items=40, max_cells=600, dim=5, bound=8.0, dtype=torch.float64)
def test_blocked_cross_entropy_equals_the_dense_one(case):
    """Loss and both gradients of the blocked softmax equal F.cross_entropy's, whatever the
    block size (float64, so only the order of the sums differs)."""
    query, weights, target, cache_cells = case
    query.requires_grad_(), weights.requires_grad_()
    (expected, expected_grads), (found, found_grads) = dense_and_blocked(
        query, weights, target, "CACHE_CELLS", cache_cells
    )
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=1e-12)
    for got, want in zip(found_grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("needs_grad", ["query", "weights"])
def test_blocked_cross_entropy_gradient_of_one_input(needs_grad, monkeypatch):
    monkeypatch.setattr(softmax, "CACHE_CELLS", 20)
    generator = torch.Generator().manual_seed(1)
    query = torch.randn(9, 3, generator=generator, dtype=torch.float64)
    weights = torch.randn(7, 3, generator=generator, dtype=torch.float64)
    target = torch.randint(7, (9,), generator=generator)
    leaf = query if needs_grad == "query" else weights
    leaf.requires_grad_(True)
    (found,) = torch.autograd.grad(softmax.item_cross_entropy(query, weights, target), leaf)
    (expected,) = torch.autograd.grad(F.cross_entropy(query @ weights.T, target), leaf)
    torch.testing.assert_close(found, expected)


def test_blocked_cross_entropy_keeps_its_saved_tensors_intact():
    """The backward reads what the forward kept without changing it: a second backward through
    the same graph adds the same gradient again."""
    query = torch.randn(4, 3, requires_grad=True)
    loss = softmax.item_cross_entropy(query, torch.randn(5, 3), torch.tensor([0, 1, 2, 4]))
    loss.backward(retain_graph=True)
    first = query.grad.clone()
    loss.backward()
    torch.testing.assert_close(query.grad, 2 * first)


@settings(max_examples=25, deadline=None)
@softmax_cases(max_items=60, max_cells=400, dim=8, bound=1.0, dtype=torch.float32)
def test_bfloat16_products_stay_close_to_float32(case):
    """bfloat16 products: the loss and both gradients (float32, like the inputs) within the
    rounding of bfloat16 of the float32 ones, whatever the block size."""
    query, weights, target, cache_cells = case
    n_rows = len(query)
    query.requires_grad_(), weights.requires_grad_()
    (expected, expected_grads), (found, found_grads) = dense_and_blocked(
        query, weights, target, "CACHE_CELLS", cache_cells, torch.bfloat16
    )
    assert found.dtype == torch.float32
    torch.testing.assert_close(found, expected, rtol=2e-2, atol=2e-2)
    for got, want in zip(found_grads, expected_grads):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, rtol=5e-2, atol=2e-2 / n_rows)


def test_bfloat16_products_round_only_the_products():
    """The loss is the float32 softmax cross-entropy of the bfloat16 logits, up to the
    rounding of the target's probability to bfloat16 (2**-9 relative: 0.002 nats)."""
    generator = torch.Generator().manual_seed(3)
    query = torch.randn(33, 16, generator=generator)
    weights = torch.randn(70, 16, generator=generator)
    target = torch.randint(70, (33,), generator=generator)
    logits = (query.bfloat16() @ weights.bfloat16().T).float()
    found = softmax.item_cross_entropy(query, weights, target, torch.bfloat16)
    torch.testing.assert_close(found, F.cross_entropy(logits, target), rtol=0, atol=2**-9)


@pytest.mark.parametrize("product_dtype", [torch.float32, torch.bfloat16])
def test_loss_stays_finite_when_the_targets_probability_underflows(product_dtype):
    """A target 200 nats below the best item has probability 0 in float32 and bfloat16: its
    loss comes from the logits, as in F.cross_entropy, and the gradient stays finite."""
    query = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    weights = torch.tensor([[100.0, 0.0], [-100.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([1, 2])
    found = softmax.item_cross_entropy(query, weights, target, product_dtype)
    expected = F.cross_entropy(query @ weights.T, target)
    rounding = {"rtol": 0, "atol": 2**-9} if product_dtype == torch.bfloat16 else {}
    torch.testing.assert_close(found, expected, **rounding)
    (gradient,) = torch.autograd.grad(found, query)
    torch.testing.assert_close(gradient, torch.autograd.grad(expected, query)[0], **rounding)


@pytest.mark.parametrize("bad", [-1, 5])
def test_blocked_cross_entropy_refuses_targets_out_of_bounds(bad):
    """As F.cross_entropy does: the blocked softmax would read another row's cell instead."""
    query, weights = torch.randn(3, 4), torch.randn(5, 4)
    target = torch.tensor([0, bad, 2])
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds for 5 items"):
        softmax.item_cross_entropy(query, weights, target)
    with pytest.raises(IndexError):
        F.cross_entropy(query @ weights.T, target)


def test_linear_in_another_precision():
    generator = torch.Generator().manual_seed(4)
    layer = torch.nn.Linear(20, 30)
    x = torch.randn(64, 20, generator=generator, requires_grad=True)
    exact = x.double() @ layer.weight.double().T + layer.bias.double()
    for same in (None, torch.float32):  # the layer itself, to float32 rounding
        found = linear(x, layer, same)
        assert found.dtype == torch.float32
        torch.testing.assert_close(found.double(), exact, rtol=1e-6, atol=1e-6)
    expected = layer(x)
    found = linear(x, layer, torch.bfloat16)
    assert found.dtype == torch.float32
    # the product of the inputs rounded to bfloat16, the bias added in float32
    rounded = (x.bfloat16().double() @ layer.weight.bfloat16().double().T).float()
    torch.testing.assert_close(found, rounded + layer.bias, rtol=1e-2, atol=1e-2)
    assert not torch.equal(found, expected)  # rounded: not the float32 product
    torch.testing.assert_close(found, expected, rtol=2e-2, atol=2e-2)
    grad_out = torch.randn(64, 30, generator=generator)
    want = torch.autograd.grad(expected, (x, layer.weight, layer.bias), grad_out)
    got = torch.autograd.grad(found, (x, layer.weight, layer.bias), grad_out)
    for a, b in zip(got, want):  # bfloat16 keeps 8 bits: about 0.4 % per rounded input
        assert a.dtype == torch.float32
        assert (a - b).norm() / b.norm() < 1e-2


def test_score_buffer_changes_no_result_and_is_reused():
    """Loss and gradients through a :class:`ScoreBuffer` equal those through a new matrix; a
    released buffer lends the same memory again, growing only for a larger request."""
    generator = torch.Generator().manual_seed(5)
    query = torch.randn(6, 4, generator=generator, requires_grad=True)
    weights = torch.randn(9, 4, generator=generator, requires_grad=True)
    target = torch.randint(9, (6,), generator=generator)
    expected = softmax.item_cross_entropy(query, weights, target)
    expected_grads = torch.autograd.grad(expected, (query, weights))
    buffer = softmax.ScoreBuffer()
    addresses = []
    for rows in (6, 4, 6, 6):
        found = softmax.item_cross_entropy(query[:rows], weights, target[:rows], buffer=buffer)
        grads = torch.autograd.grad(found, (query, weights))
        buffer.release()
        addresses.append(buffer._memory.data_ptr())
        if rows == 6:
            torch.testing.assert_close(found, expected, rtol=0, atol=0)
            for got, want in zip(grads, expected_grads):
                torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert len(set(addresses)) == 1


def test_a_lent_score_buffer_is_not_overwritten():
    """A second forward pass before the first one's backward gets memory of its own: the first
    backward still reads its own scores."""
    generator = torch.Generator().manual_seed(6)
    first_query, second_query = torch.randn(2, 5, 3, generator=generator)
    first_query.requires_grad_()
    weights = torch.randn(7, 3, generator=generator)
    target = torch.tensor([0, 1, 2, 3, 6])
    (expected,) = torch.autograd.grad(
        softmax.item_cross_entropy(first_query, weights, target), first_query
    )
    buffer = softmax.ScoreBuffer()
    first = softmax.item_cross_entropy(first_query, weights, target, buffer=buffer)
    softmax.item_cross_entropy(second_query, weights, target.flip(0), buffer=buffer)
    (found,) = torch.autograd.grad(first, first_query)
    torch.testing.assert_close(found, expected, rtol=0, atol=0)


def test_training_reuses_one_score_buffer(monkeypatch):
    """Every training step of a fit takes its scores' memory from the trainer's buffer (never
    fresh memory), which is dropped when the fit ends."""
    lent = []
    take = softmax.ScoreBuffer.take

    def spy(self, *args):
        scores = take(self, *args)
        lent.append(scores.data_ptr() == self._memory.data_ptr())
        return scores

    monkeypatch.setattr(softmax.ScoreBuffer, "take", spy)
    X, y, _ = sessions_to_prefixes(*make_sessions(60, 15, random_state=0), max_len=8)
    # the blocked softmax is the CPU's (CUDA takes F.cross_entropy)
    model = NARMRecommender(max_iter=2, batch_size=16, random_state=0, device="cpu").fit(X, y)
    assert len(lent) == model._history.steps > 2
    assert all(lent)
    assert model.network_.score_buffer is None
