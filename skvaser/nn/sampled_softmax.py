"""The sampled softmax: the next item against shared popularity-sampled negatives.

With ``n_negatives > 0`` a training step does not score every item: the candidates of a batch
are the batch's own targets (one per row, distributed as the items' popularity ``p``) and
``n_negatives`` items drawn once per batch, shared by all rows, **with replacement** from

    q(i) = count_i ** alpha / sum_j count_j ** alpha

(GRU4Rec's ``sample_alpha``; ``count_i`` is how often item ``i`` is a training target). Each
row's cross-entropy runs over the candidates, its logits corrected by ``-log Q(i)``, where
``Q(i) = B p(i) + S q(i)`` is the expected number of copies of item ``i`` among the candidates
of a batch of ``B`` rows and ``S`` samples (the log-Q correction of sampled softmax: Bengio &
Senécal, 2008; Jean et al., 2015; Yi et al., 2019). The corrected loss is a consistent estimate
of the full softmax, so the uncorrected scores ``query @ weights.T`` rank the whole catalogue
at prediction time. Drawing with replacement keeps ``Q`` exact: a candidate drawn twice counts
twice, which its expected count accounts for.

**Accidental hits.** A row's positive is the first candidate equal to its target (for a batch,
the row's own column); every other copy of the target among the candidates (another row with
the same target, or a sampled negative equal to it) is masked out of that row's softmax, so the
target is never pushed down as its own negative (TensorFlow's ``remove_accidental_hits``).

**Rows of one session.** Where a batch holds several prefixes of one session (``batching=
"sessions"``), their targets are that session's next clicks: the items it is about to click
again or for the first time. Each row's softmax leaves out the other rows' own columns of its
session (the first ``B`` candidates, one copy of each of their targets), so that a session's
own items are not pushed down by its rows' positives. Drawn negatives that are the same items
stay: leaving out every copy of them cost a point of MRR@20 on validation data, since the
earlier rows' targets are the prefix's own clicks, which the softmax must learn to rank below
a next click that is not a repeat (``benchmarks/HISTORY.md``, sections 38 and 45).
"""

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["NegativeSampler", "sampled_cross_entropy"]


def sampled_cross_entropy(
    query, candidate_weights, target, candidates, log_q, product_dtype=None, sessions=None
):
    """Mean log-Q-corrected softmax cross-entropy of ``target`` among ``candidates``.

    Parameters
    ----------
    query : Tensor (B, D)
    candidate_weights : Tensor (C, D)
        Output weights of the candidates (the rows ``candidates`` of the item weights).
    target : LongTensor (B,)
        Item indices (codes minus one) of the next clicks; each must be among ``candidates``.
    candidates : LongTensor (C,)
        Item indices of the candidates (repeats allowed).
    log_q : Tensor (C,)
        Log of each candidate's expected number of copies among the candidates (any constant
        offset cancels); subtracted from its logits.
    product_dtype : torch.dtype, optional
        Precision of the matrix product (default: that of ``query``).
    sessions : LongTensor (B,), optional
        The session of each row, when the first ``B`` candidates are the rows' targets: a
        row's softmax then leaves out the columns of the other rows of its session (their
        targets' in-batch copies; drawn copies of those items stay).

    Returns
    -------
    loss : Tensor ()
        In nats, in ``query``'s dtype. Gradients flow to ``query`` and ``candidate_weights``.
        With every item a candidate exactly once and a constant ``log_q``, it equals the full
        softmax cross-entropy.
    """
    product_dtype = product_dtype or query.dtype
    logits = (query.to(product_dtype) @ candidate_weights.to(product_dtype).T).to(query.dtype)
    logits = logits - log_q.to(query.dtype)
    hits = candidates[None, :] == target[:, None]  # (B, C)
    positive = hits.to(torch.uint8).argmax(dim=1)  # the first copy of each row's target
    if sessions is not None:
        hits[:, : len(target)] |= sessions[:, None] == sessions[None, :]
    hits[torch.arange(len(target), device=target.device), positive] = False
    return F.cross_entropy(logits.masked_fill(hits, -torch.inf), positive)


class NegativeSampler:
    """Draws the shared negatives of a batch and knows their log-Q correction.

    Parameters
    ----------
    counts : Tensor (n_items,)
        Times each item is a training target (item indices are codes minus one).
    n_negatives : int
        Negatives ``S`` drawn per batch, with replacement.
    alpha : float
        Exponent of the popularity: ``q(i)`` is proportional to ``counts[i] ** alpha`` (0:
        uniform over the whole catalogue; 1: the popularity itself). With ``alpha > 0`` an item
        that is never a target is never drawn.
    generator : torch.Generator
        On the device of ``counts``; the only source of randomness.
    """

    def __init__(self, counts, n_negatives, alpha, generator):
        counts = counts.to(torch.float64)
        # relative to the largest (at least 1: every fit has a target), so that no power
        # overflows; 0 ** 0 = 1: alpha = 0 is uniform over every item
        weights = (counts / counts.max()).pow(alpha)
        q = weights / weights.sum()
        self.n_negatives = int(n_negatives)
        self.n_items = len(counts)
        self.generator = generator
        # float64: the cumulative sum of 10**6 probabilities keeps the rare items' share
        self._cdf = q.cumsum(0)
        self._cdf[-1] = 1.0
        self._p = (counts / counts.sum()).to(torch.float32)
        self._q = q.to(torch.float32)

    def draw(self):
        """``n_negatives`` item indices drawn from ``q``: LongTensor (S,), on the device."""
        u = torch.rand(
            self.n_negatives, generator=self.generator, device=self._cdf.device,
            dtype=torch.float64,
        )
        drawn = torch.searchsorted(self._cdf, u, right=True)
        return drawn.clamp_(max=len(self._cdf) - 1)

    def log_expected_counts(self, candidates, n_rows):
        """``log(n_rows p(i) + S q(i))`` of each candidate ``i``: Tensor (C,).

        The expected copies of item ``i`` among a batch's candidates: ``n_rows`` targets drawn
        from the popularity ``p`` and ``S`` negatives drawn from ``q``.
        """
        expected = n_rows * self._p[candidates] + self.n_negatives * self._q[candidates]
        return expected.log()

    def candidates(self, target):
        """The candidates of a batch: its targets (B,) then the drawn negatives (S,)."""
        return torch.cat([target, self.draw()])


def popularity_counts(targets, n_items):
    """Times each item is a target: float Tensor (n_items,), from codes 1..n_items."""
    if isinstance(targets, np.ndarray):
        targets = torch.as_tensor(targets)
    return torch.bincount(targets, minlength=n_items + 1)[1:].to(torch.float64)
