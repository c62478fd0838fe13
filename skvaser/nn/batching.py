"""Encoded prefixes on the device, cut into batches of equal prefix length.

Every batch holds prefixes of one length ``L`` only, so the recurrent encoders run exactly ``L``
steps with no padding, no masks and no packing; the work per epoch is the sum of the real prefix
lengths rather than ``n_samples * max_len``.
"""

import numpy as np
import torch

__all__ = ["compact_codes", "PrefixBatches"]


def compact_codes(codes):
    """Right-align the known clicks of each row, dropping padding and unknown items (code 0).

    Parameters
    ----------
    codes : ndarray of int64, shape (n_samples, max_len)
        Encoded prefixes (0 = padding or unknown item).

    Returns
    -------
    codes : ndarray of int64, shape (n_samples, max_len)
        Same clicks in the same order, zeros moved to the left.
    lengths : ndarray of int64, shape (n_samples,)
        Number of known clicks per row (0 for a row with none).
    """
    known = codes != 0
    order = np.argsort(known, axis=1, kind="stable")  # zeros first, clicks keep their order
    return np.take_along_axis(codes, order, axis=1), known.sum(axis=1)


class PrefixBatches:
    """Prefixes held on ``device``, served as batches of equal length.

    Parameters
    ----------
    codes : ndarray of int64, shape (n_samples, max_len)
        Encoded prefixes (0 = padding or unknown).
    targets : ndarray of int64, shape (n_samples,) or None
        Encoded next items (codes 1..n_items), for training.
    batch_size : int
    device : torch.device
    """

    def __init__(self, codes, targets, batch_size, device):
        codes, lengths = compact_codes(np.asarray(codes))
        self.n_samples = len(codes)
        self.batch_size = int(batch_size)
        self.codes = torch.as_tensor(codes, device=device)
        self.targets = None if targets is None else torch.as_tensor(targets, device=device)
        self.lengths = lengths
        # Rows grouped by length (stable), as index tensors on the device.
        self._groups = [
            (int(length), torch.as_tensor(np.flatnonzero(lengths == length), device=device))
            for length in np.unique(lengths)
        ]
        #: Batches of an epoch of :meth:`shuffled` (rows without clicks are not trained on).
        self.n_training_batches = sum(
            -(-len(rows) // self.batch_size) for length, rows in self._groups if length > 0
        )

    def _batch(self, rows, length):
        x = self.codes[rows, self.codes.shape[1] - length :]  # (B, length), length may be 0
        y = None if self.targets is None else self.targets[rows]
        return rows, x, y

    def __iter__(self):
        """Batches in a fixed order (for prediction): ``(rows, x (B, L), y)``."""
        for length, rows in self._groups:
            for begin in range(0, len(rows), self.batch_size):
                yield self._batch(rows[begin : begin + self.batch_size], length)

    def shuffled(self, generator):
        """One training epoch: rows shuffled within each length, batch order shuffled.

        ``generator`` is a CPU ``torch.Generator``; only the batch plan is drawn on the host,
        the rows themselves stay on the device.
        """
        plan = []
        for length, rows in self._groups:
            if length == 0:
                continue
            permuted = rows[torch.randperm(len(rows), generator=generator).to(rows.device)]
            plan.extend(
                (length, permuted[begin : begin + self.batch_size])
                for begin in range(0, len(rows), self.batch_size)
            )
        for index in torch.randperm(len(plan), generator=generator).tolist():
            length, rows = plan[index]
            yield self._batch(rows, length)
