"""The full-softmax cross-entropy of the next item, in cache-sized blocks of scores on the CPU.

Every network is trained on ``-log softmax(query @ weights.T)[target]`` over all items. With
``F.cross_entropy`` on the whole (B, n_items) logit matrix, the CPU streams that matrix through
memory about ten times a step (product, log-softmax, its gradient, two products back), far more
than the cache holds for a catalogue of thousands of items. :func:`item_cross_entropy` instead
computes the logits a cache-sized block of rows at a time and turns each block into its
gradient, ``softmax - one_hot(target)``, while it is in the cache (one fused softmax, in place);
the backward pass is then two matrix products.

The three matrix products (logits, and the gradients of ``query`` and of ``weights``) are the
bulk of the work, and they can run in bfloat16 (``product_dtype``): the inputs are rounded to
bfloat16, the products accumulate in float32 and store the logits in bfloat16 (8 significant
bits), the softmax computes in float32 and stores its probabilities in bfloat16, and the loss
and the returned gradients are in the inputs' precision. The gradients then differ from the
float32 ones by the rounding of bfloat16 mixed-precision training: about 1 % relative norm at
training's scales, more in rows whose target takes nearly all the probability (above
``1 - 2**-9`` the target's own pull rounds to zero; such rows pull little in float32 either).
A row's loss differs by the logits' rounding, ``2**-9`` of their size: hundredths of a nat for
logits of a few units. The speed of each variant is measured in ``benchmarks/README.md``.

The (B, n_items) matrix itself can live in a :class:`ScoreBuffer` that a training loop reuses
from step to step: on the CPU, glibc maps a block larger than 32 MiB (512 x 17,376 float32
scores, 512 x 43,097 bfloat16 ones) fresh from the kernel at every allocation, which zeroes it
page by page, and unmaps it at every free.
"""

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from ._torch_compat import softmax_in_place

__all__ = ["CACHE_CELLS", "ScoreBuffer", "item_cross_entropy"]

#: On the CPU, scores are computed in blocks of about this many (row, item) cells (2**21; 8 MiB
#: in float32), which stay in the cache from the matrix product that writes them to what reads
#: them next: the top-k of ranking (:meth:`SessionNetwork.top_k`) and the softmax of training.
CACHE_CELLS = 2**21


class ScoreBuffer:
    """Memory for the (B, n_items) scores of :func:`item_cross_entropy`, reused step after step.

    :meth:`take` lends it to one forward pass, whose backward pass reads it; the owner calls
    :meth:`release` once that graph is gone (after ``loss.backward()``). While it is lent,
    :meth:`take` returns fresh memory instead, so a second forward pass never overwrites the
    scores of a first. The memory grows to the largest request and is held until the buffer
    is dropped.
    """

    def __init__(self):
        self._memory = None
        self._lent = False

    def take(self, rows, columns, dtype, device):
        """An uninitialised (rows, columns) tensor: the buffer's memory unless it is lent."""
        if self._lent:
            return torch.empty(rows, columns, dtype=dtype, device=device)
        cells = rows * columns
        memory = self._memory
        if memory is None or memory.numel() < cells or (memory.dtype, memory.device) != (
            dtype, torch.device(device)
        ):
            self._memory = memory = torch.empty(cells, dtype=dtype, device=device)
        self._lent = True
        return memory[:cells].view(rows, columns)

    def release(self):
        """The graph that read the lent scores is gone: the next :meth:`take` may reuse them."""
        self._lent = False


def item_cross_entropy(query, weights, target, product_dtype=None, buffer=None):
    """Mean cross-entropy of ``target`` under ``softmax(query @ weights.T)``.

    Parameters
    ----------
    query : Tensor (B, D)
    weights : Tensor (n_items, D)
    target : LongTensor (B,)
        Item indices (codes minus one) of the next clicks, in ``[0, n_items)``.
    product_dtype : torch.dtype, optional
        Precision of the three matrix products (default: that of ``query``), e.g.
        ``torch.bfloat16``. The softmax computes in float32 (or ``query``'s precision, if
        wider); the loss is in ``query``'s precision.
    buffer : ScoreBuffer, optional
        Where the (B, n_items) scores are kept for the backward pass on the CPU (default: a
        new tensor).

    Returns
    -------
    loss : Tensor ()
        In nats, in ``query``'s dtype. Gradients flow to ``query`` and ``weights``.
    """
    product_dtype = product_dtype or query.dtype
    if query.device.type != "cpu":  # F.cross_entropy checks the targets itself
        logits = query.to(product_dtype) @ weights.to(product_dtype).T
        return F.cross_entropy(logits.to(query.dtype), target)
    if len(target):
        low, high = torch.aminmax(target)
        if low < 0 or high >= len(weights):
            # the blocked softmax would read and write another row's cell
            raise IndexError(f"Target {(low if low < 0 else high).item()} is out of bounds "
                             f"for {len(weights)} items.")
    rows = max(1, CACHE_CELLS // len(weights))
    return _BlockedCrossEntropy.apply(query, weights, target, rows, product_dtype, buffer)


class _BlockedCrossEntropy(torch.autograd.Function):
    """Softmax cross-entropy computed ``rows`` queries at a time; keeps its logits' gradient."""

    @staticmethod
    def forward(ctx, query, weights, target, rows, product_dtype, buffer):
        product_query, product_weights = query.to(product_dtype), weights.to(product_dtype)
        # softmax(logits) - one_hot(target), (B, n_items), in the products' precision
        if buffer is None:
            residuals = product_query.new_empty(len(query), len(weights))
        else:
            residuals = buffer.take(len(query), len(weights), product_dtype, query.device)
        for begin in range(0, len(query), rows):
            block = residuals[begin : begin + rows]
            torch.mm(product_query[begin : begin + rows], product_weights.T, out=block)
            softmax_in_place(block)
        # the targets' cells of the flat residuals: indexing writes only those, where a
        # scatter into bfloat16 converts the whole matrix to float32 and back
        cells = target + torch.arange(0, residuals.numel(), len(weights), device=target.device)
        flat = residuals.view(-1)
        target_probabilities = flat[cells].to(query.dtype)
        flat[cells] = (target_probabilities - 1.0).to(product_dtype)
        # from probabilities rounded to 8 bits: within 0.002 nats of the logits' own loss
        losses = -target_probabilities.log()
        underflow = target_probabilities == 0
        if underflow.any():  # probabilities below the smallest float: from the logits
            logits = (product_query[underflow] @ product_weights.T).to(query.dtype)
            target_logits = logits.gather(1, target[underflow, None])[:, 0]
            losses[underflow] = logits.logsumexp(1) - target_logits
        ctx.save_for_backward(product_query, product_weights, residuals)
        ctx.dtype = query.dtype
        return losses.mean()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        product_query, product_weights, residuals = ctx.saved_tensors
        scale = grad_loss / len(residuals)  # applied to the small gradients, not to the scores
        grad_query = grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_query = torch.mm(residuals, product_weights).to(ctx.dtype).mul_(scale)
        if ctx.needs_input_grad[1]:
            # the faster order of the product differs by precision: (query^T residuals)^T in
            # bfloat16, residuals^T query in float32
            if residuals.dtype == torch.bfloat16:
                grad_weights = torch.mm(product_query.T, residuals).T
            else:
                grad_weights = torch.mm(residuals.T, product_query)
            grad_weights = grad_weights.to(ctx.dtype).mul_(scale)
        return grad_query, grad_weights, None, None, None, None
