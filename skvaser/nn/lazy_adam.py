"""Adam for the sparse gradients of large item tables, by index operations."""

import torch

__all__ = ["LazyAdam"]


class LazyAdam(torch.optim.Optimizer):
    """Lazy Adam: each step updates only the rows its sparse gradient names, and their moments.

    The update is :class:`torch.optim.SparseAdam`'s, row for row. It is computed on the
    gradient's rows alone (``index_select``, then ``index_copy_`` back) rather than by
    sparse-tensor arithmetic on the whole table, which reads and writes fewer bytes per step.

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters whose gradients are sparse (:class:`torch.nn.Embedding` with ``sparse=True``).
    lr : float, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss (as
        in :meth:`torch.optim.Optimizer.step`), whose value is returned."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                if not parameter.grad.is_sparse:
                    raise RuntimeError(
                        "LazyAdam takes sparse gradients only; use torch.optim.Adam for dense ones."
                    )
                gradient = parameter.grad.coalesce()
                rows, values = gradient.indices()[0], gradient.values()
                state = self.state[parameter]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(parameter)
                    state["exp_avg_sq"] = torch.zeros_like(parameter)
                state["step"] += 1
                exp_avg = state["exp_avg"].index_select(0, rows).lerp_(values, 1 - beta1)
                exp_avg_sq = state["exp_avg_sq"].index_select(0, rows).mul_(beta2)
                exp_avg_sq.addcmul_(values, values, value=1 - beta2)
                state["exp_avg"].index_copy_(0, rows, exp_avg)
                state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                step_size = group["lr"] * bias_correction2**0.5 / bias_correction1
                update = exp_avg.div_(exp_avg_sq.sqrt_().add_(group["eps"]))
                # the rows are distinct (coalesced): a copy back, faster than index_add_
                updated = parameter.index_select(0, rows).add_(update, alpha=-step_size)
                parameter.index_copy_(0, rows, updated)
        return loss
