"""The interface between the session networks and the shared trainer and scorer."""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SessionNetwork"]


class SessionNetwork(nn.Module):
    """A network that scores every item for a prefix as ``query(x) @ item_weights().T``.

    Subclasses implement :meth:`query` (deterministic, used to rank), :meth:`item_weights` and,
    when they add a regulariser to the likelihood, :meth:`loss_terms`.
    """

    def query(self, x, generator=None):
        """Representation of prefixes ``x`` (B, L) to score items with: Tensor (B, D)."""
        raise NotImplementedError

    def item_weights(self):
        """Output weights of the items with codes 1..n_items: Tensor (n_items, D)."""
        raise NotImplementedError

    def loss_terms(self, x, y, generator):
        """Per-batch mean loss terms of a training step.

        Returns a dict with ``"reconstruction"`` (full-softmax cross-entropy of the next item
        ``y``, codes 1..n_items) and optionally ``"regularization"`` (weighted by the trainer's
        annealed ``beta``).
        """
        logits = self.query(x, generator) @ self.item_weights().T
        return {"reconstruction": F.cross_entropy(logits, y - 1)}

    @torch.no_grad()
    def top_k(self, x, k):
        """Codes minus one of the ``k`` best items for prefixes ``x``: LongTensor (B, k)."""
        scores = self.query(x) @ self.item_weights().T
        return torch.topk(scores, k, dim=1).indices
