"""The fast paths change speed, never results: cache-sized blocks of scores."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import skvaser.nn.base as network_base
import skvaser.nn.softmax as softmax
from skvaser._ranking import top_k_scores
from skvaser.nn.base import SessionNetwork


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


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 12),
    n_items=st.integers(1, 40),
    cache_cells=st.integers(1, 600),
    seed=st.integers(0, 2**16),
)
def test_blocked_cross_entropy_equals_the_dense_one(n_rows, n_items, cache_cells, seed):
    """Loss and both gradients of the blocked softmax equal F.cross_entropy's, whatever the
    block size (float64, so only the order of the sums differs)."""
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(n_rows, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(n_items, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    target = torch.randint(n_items, (n_rows,), generator=generator)
    expected = F.cross_entropy(query @ weights.T, target)
    expected_grads = torch.autograd.grad(expected, (query, weights))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(softmax, "CACHE_CELLS", cache_cells)
        found = softmax.item_cross_entropy(query, weights, target)
    found_grads = torch.autograd.grad(found, (query, weights))
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


def test_blocked_cross_entropy_refuses_a_second_backward():
    """Its backward turns the kept probabilities into the gradient in place, so a second
    backward through the same graph must fail loudly rather than return a wrong gradient."""
    query = torch.randn(4, 3, requires_grad=True)
    loss = softmax.item_cross_entropy(query, torch.randn(5, 3), torch.tensor([0, 1, 2, 4]))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
