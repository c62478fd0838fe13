"""LazyAdam, checked step by step against torch.optim.SparseAdam (the definition it follows)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skvaser.nn.lazy_adam import LazyAdam


def sparse_gradient(generator, n_rows, dim, n_entries):
    """An uncoalesced sparse gradient of ``n_entries`` rows drawn with repetition."""
    rows = torch.randint(n_rows, (n_entries,), generator=generator)
    values = torch.randn(n_entries, dim, generator=generator, dtype=torch.float64)
    return torch.sparse_coo_tensor(rows[None], values, (n_rows, dim), check_invariants=True)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 30),
    n_entries=st.integers(0, 40),
    n_steps=st.integers(1, 6),
    lr=st.floats(1e-4, 1e-1),
)
def test_steps_match_sparse_adam(seed, n_rows, n_entries, n_steps, lr):
    """Parameters and both moments equal SparseAdam's after every step, rows untouched by the
    gradients included, with duplicate rows and a step size changed between steps."""
    generator = torch.Generator().manual_seed(seed)
    start = torch.randn(n_rows, 3, generator=generator, dtype=torch.float64)
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    lazy, reference = LazyAdam([ours], lr=lr), torch.optim.SparseAdam([theirs], lr=lr)
    for step in range(n_steps):
        gradient = sparse_gradient(generator, n_rows, 3, n_entries)
        ours.grad, theirs.grad = gradient.clone(), gradient.clone()
        lazy.step()
        reference.step()
        torch.testing.assert_close(ours, theirs)
        for moment in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(lazy.state[ours][moment], reference.state[theirs][moment])
        for group in (*lazy.param_groups, *reference.param_groups):
            group["lr"] *= 0.5


def test_rows_without_gradient_stay():
    """A row no step names keeps its value; a parameter without a gradient is skipped."""
    table = torch.nn.Parameter(torch.ones(4, 2))
    idle = torch.nn.Parameter(torch.ones(3))
    optimizer = LazyAdam([table, idle], lr=0.1)
    table.grad = torch.sparse_coo_tensor(
        [[1, 1, 3]], torch.ones(3, 2), (4, 2), check_invariants=True
    )
    optimizer.step()
    assert torch.equal(table[[0, 2]], torch.ones(2, 2))
    assert (table[[1, 3]] < 1).all()
    assert torch.equal(idle, torch.ones(3))


def test_dense_gradient_is_refused():
    parameter = torch.nn.Parameter(torch.zeros(2, 2))
    parameter.grad = torch.ones(2, 2)
    with pytest.raises(RuntimeError, match="sparse gradients only"):
        LazyAdam([parameter]).step()
