"""The fast paths change speed, never results: cache-sized blocks of scores."""

import numpy as np
import pytest
import torch

import skvaser.nn.base as network_base
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
