"""The full-softmax cross-entropy of the next item, in cache-sized blocks of scores on the CPU.

Every network is trained on ``-log softmax(query @ weights.T)[target]`` over all items. With
``F.cross_entropy`` on the whole (B, n_items) logit matrix, the CPU streams that matrix through
memory about ten times a step (product, log-softmax, its gradient, two products back): 36 MB
for a batch of 512 against YOOCHOOSE 1/64's 17,376 items, far more than the cache holds.
:func:`item_cross_entropy` instead computes the logits ``CACHE_CELLS`` cells at a time, turns
each block into probabilities while it is in the cache (one ``exp`` per score), and in the
backward pass reads each block once more for both gradient products. The numbers are the same
to float rounding; one thread, batch 512, dimension 50, the loss and its gradients take 6.1
instead of 10.5 CPU s per 100 steps at 17,376 items, 18.5 instead of 28.0 at DIGINETICA's
43,097 and 2.4 instead of 2.5 at 7,029 (``benchmarks/README.md``).
"""

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

__all__ = ["CACHE_CELLS", "item_cross_entropy"]

#: On the CPU, scores are computed in blocks of about this many (row, item) cells (2**21
#: float32, 8 MiB), which stay in the cache from the matrix product that writes them to what
#: reads them next: the top-k of ranking (:meth:`SessionNetwork.top_k`, twice as fast as
#: blocks of a thousand rows, 65 MiB, for 17,376 items) and the softmax of training.
CACHE_CELLS = 2**21


def item_cross_entropy(query, weights, target):
    """Mean cross-entropy of ``target`` under ``softmax(query @ weights.T)``.

    Parameters
    ----------
    query : Tensor (B, D)
    weights : Tensor (n_items, D)
    target : LongTensor (B,)
        Item indices (codes minus one) of the next clicks.

    Returns
    -------
    loss : Tensor ()
        In nats. Gradients flow to ``query`` and ``weights``; on the CPU the loss can be
        differentiated once (the probabilities it keeps become the gradient in place).
    """
    if query.device.type != "cpu":
        return F.cross_entropy(query @ weights.T, target)
    rows = max(1, CACHE_CELLS // len(weights))
    return _BlockedCrossEntropy.apply(query, weights, target, rows)


class _BlockedCrossEntropy(torch.autograd.Function):
    """Softmax cross-entropy computed ``rows`` queries at a time; keeps the probabilities."""

    @staticmethod
    def forward(ctx, query, weights, target, rows):
        probabilities = query.new_empty(len(query), len(weights))
        loss = query.new_zeros(())
        for begin in range(0, len(query), rows):
            block = probabilities[begin : begin + rows]
            torch.mm(query[begin : begin + rows], weights.T, out=block)
            target_logits = block.gather(1, target[begin : begin + rows, None])
            maxima = block.amax(dim=1, keepdim=True)
            block.sub_(maxima).exp_()  # one exp per score
            sums = block.sum(dim=1, keepdim=True)
            block.div_(sums)
            loss += (maxima + sums.log() - target_logits).sum()
        ctx.save_for_backward(query, weights, target, probabilities)
        ctx.rows = rows
        return loss / len(query)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        query, weights, target, probabilities = ctx.saved_tensors
        grad_query = torch.empty_like(query) if ctx.needs_input_grad[0] else None
        grad_weights = torch.zeros_like(weights) if ctx.needs_input_grad[1] else None
        for begin in range(0, len(query), ctx.rows):
            block = probabilities[begin : begin + ctx.rows]  # softmax - one-hot, in place
            block.scatter_add_(
                1, target[begin : begin + ctx.rows, None], block.new_full((len(block), 1), -1.0)
            )
            if grad_query is not None:
                torch.mm(block, weights, out=grad_query[begin : begin + ctx.rows])
            if grad_weights is not None:
                grad_weights.addmm_(block.T, query[begin : begin + ctx.rows])
        scale = grad_loss / len(query)  # applied to the small gradients, not to the scores
        return (
            None if grad_query is None else grad_query.mul_(scale),
            None if grad_weights is None else grad_weights.mul_(scale),
            None,
            None,
        )
