"""Encoded prefixes on the device, cut into batches of equal prefix length.

Every batch holds prefixes of one length ``L`` only, so the recurrent encoders run exactly ``L``
steps with no padding, no masks and no packing; the work per epoch is the sum of the real prefix
lengths rather than ``n_samples * max_len``.

:class:`SessionBatches` goes one step further for training: the prefixes ``[x1]``,
``[x1, x2]``, ... of one session are the rows of one sequence ``[x1 .. xL]``, encoded by a single
pass (:class:`SessionClicks`), so the work per epoch is the sum of the sessions' lengths.
"""

from typing import NamedTuple

import numpy as np
import torch

__all__ = ["compact_codes", "link_prefixes", "PrefixBatches", "SessionBatches", "SessionClicks"]


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


def link_prefixes(codes, lengths, targets):
    """Chain every prefix to a row that is the same prefix extended by its next item.

    Row ``j`` extends row ``i`` when it holds row ``i``'s clicks followed by ``targets[i]``
    (so ``lengths[j] == lengths[i] + 1``): the recurrent state after ``j``'s first clicks is
    then row ``i``'s. Every row extends at most one row; where several rows hold the same
    clicks, they are matched in row order.

    Parameters
    ----------
    codes : ndarray of int64, shape (n_samples, max_len)
        Right-aligned prefixes (as :func:`compact_codes` returns).
    lengths : ndarray of int64, shape (n_samples,)
    targets : ndarray of int64, shape (n_samples,)

    Returns
    -------
    successor : ndarray of int64, shape (n_samples,)
        The row extending each row, -1 where none does.
    """
    n_samples, max_len = codes.shape
    successor = np.full(n_samples, -1, dtype=np.int64)
    extendable = np.flatnonzero((lengths > 0) & (lengths < max_len))
    if not len(extendable):
        return successor
    extended = np.concatenate([codes[extendable, 1:], targets[extendable, None]], axis=1)
    # Rows are matched by a 64-bit hash of their clicks, and every match is then checked
    # click by click: a collision can cost a link, never make a wrong one.
    multipliers = np.random.default_rng(0).integers(1, 2**62, size=max_len, dtype=np.int64)
    hashes = np.concatenate([codes @ multipliers, extended @ multipliers])  # wraps mod 2**64
    _, ids = np.unique(hashes, return_inverse=True)
    row_ids, wanted_ids = ids[:n_samples], ids[n_samples:]
    # The k-th row holding some clicks extends the k-th row that asks for them.
    rows = np.lexsort((np.arange(n_samples), row_ids))
    askers = np.lexsort((extendable, wanted_ids))
    row_keys = _occurrence_keys(row_ids[rows], n_samples)
    asker_keys = _occurrence_keys(wanted_ids[askers], n_samples)
    found = np.searchsorted(row_keys, asker_keys)
    found[found == n_samples] = 0
    matched = row_keys[found] == asker_keys
    askers, found = askers[matched], rows[found[matched]]
    same = (codes[found] == extended[askers]).all(axis=1)
    successor[extendable[askers[same]]] = found[same]
    return successor


def _occurrence_keys(sorted_ids, n_samples):
    """``id * (n_samples + 1) + k`` for the k-th occurrence of each id in ``sorted_ids``:
    increasing, and equal only for the same occurrence of the same id."""
    first = np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(sorted_ids)), 0))
    return sorted_ids * (n_samples + 1) + (np.arange(len(sorted_ids)) - starts)


class SessionClicks(NamedTuple):
    """The rows of a training batch as prefixes of shared click sequences.

    Row ``r`` is the prefix ``codes[session[r], : step[r] + 1]``: encoders run once over
    ``codes`` and read every row's state at its ``step``.
    """

    #: LongTensor (B, L): the batch's sequences, all of length ``L``.
    codes: torch.Tensor
    #: LongTensor (N,): each row's sequence, in ``0 .. B - 1``, non-decreasing.
    session: torch.Tensor
    #: LongTensor (N,): each row's last click, in ``0 .. L - 1``.
    step: torch.Tensor


class SessionBatches:
    """Training prefixes held on ``device``, each batch's rows the prefixes of whole sessions.

    The prefixes are linked into chains (:func:`link_prefixes`), each chain the prefixes of one
    sequence of clicks; a batch holds whole chains of one sequence length ``L`` and about
    ``batch_size`` prefixes, served as :class:`SessionClicks`. Prefixes longer than their window
    (a session cut to its last ``max_len`` clicks) extend nothing and are chains of their own.

    Parameters
    ----------
    codes : ndarray of int64, shape (n_samples, max_len)
        Encoded prefixes (0 = padding or unknown).
    targets : ndarray of int64, shape (n_samples,)
        Encoded next items (codes 1..n_items).
    batch_size : int
        Prefixes per batch, about: the chains of one length are cut into
        ``ceil(prefixes / batch_size)`` batches of whole chains and near-equal size, so a batch
        holds fewer than ``batch_size + max_len`` prefixes.
    device : torch.device
    """

    def __init__(self, codes, targets, batch_size, device):
        codes, lengths = compact_codes(np.asarray(codes))
        targets = np.asarray(targets, dtype=np.int64)
        self.n_samples, max_len = codes.shape
        self.batch_size = int(batch_size)
        self.lengths = lengths
        self.targets = torch.as_tensor(targets, device=device)
        successor = link_prefixes(codes, lengths, targets)
        extended = np.zeros(self.n_samples, dtype=bool)
        extended[successor[successor >= 0]] = True
        current = np.flatnonzero((lengths > 0) & ~extended)  # the chains' shortest prefixes
        chain = np.arange(len(current))
        last = current.copy()
        # chain_targets[c, t]: the next item after the first t + 1 clicks of chain c (0: none)
        chain_targets = np.zeros((len(current), max_len), dtype=np.int64)
        while len(current):
            chain_targets[chain, lengths[current] - 1] = targets[current]
            last[chain] = current
            following = successor[current]
            chain, current = chain[following >= 0], following[following >= 0]
        self._length = lengths[last]
        self._last = last
        self._first_step = np.argmax(chain_targets != 0, axis=1)
        self._codes = torch.as_tensor(codes[last], device=device)
        self._chain_targets = torch.as_tensor(chain_targets, device=device)
        self._device = device
        #: Batches of an epoch of :meth:`shuffled` (exact when ``batch_size >= 2 * max_len``,
        #: else at most this many).
        self.n_training_batches = sum(
            -(-int(self._rows(self._length == length).sum()) // self.batch_size)
            for length in np.unique(self._length)
        )

    def _rows(self, chains):
        """Prefixes trained on in each chain (of the boolean mask or indices ``chains``)."""
        return self._length[chains] - self._first_step[chains]

    def shuffled(self, generator):
        """One training epoch: ``(rows, x, y)`` with ``x`` a :class:`SessionClicks`, ``y``
        (N,) its rows' targets and ``rows`` the chains' longest prefixes (indices of ``codes``).

        Chains are shuffled within each length and cut into batches of about ``batch_size``
        prefixes; the batch order is shuffled. ``generator`` (a CPU ``torch.Generator``) draws
        the plan on the host, which reaches the device in one copy per epoch.
        """
        if not len(self._last):
            return
        chains, sizes, lengths = [], [], []
        for length in np.unique(self._length):
            group = np.flatnonzero(self._length == length)
            group = group[torch.randperm(len(group), generator=generator).numpy()]
            rows = self._rows(group)
            n_batches = -(-int(rows.sum()) // self.batch_size)
            starts = np.cumsum(rows) - rows
            batch = starts * n_batches // rows.sum()  # batch of each chain, 0 .. n_batches - 1
            cuts = np.flatnonzero(np.diff(batch)) + 1
            for part in np.split(group, cuts):
                chains.append(part)
                sizes.append(len(part))
                lengths.append(int(length))
        order = torch.randperm(len(chains), generator=generator).numpy()
        chains = [chains[index] for index in order]
        sizes, lengths = np.asarray(sizes)[order], np.asarray(lengths)[order]
        flat = np.concatenate(chains)
        # every batch's rows: (position of its chain in the batch, step), in row-major order
        first_step, length = self._first_step[flat], self._length[flat]
        n_rows = length - first_step
        within = np.arange(len(flat)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        session = np.repeat(within, n_rows)
        offsets = np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
        step = np.arange(n_rows.sum()) - offsets + np.repeat(first_step, n_rows)
        rows_per_batch = np.add.reduceat(n_rows, np.cumsum(sizes) - sizes)
        device = self._device
        flat_device = torch.as_tensor(flat, device=device)
        last_device = torch.as_tensor(self._last[flat], device=device)
        session = torch.as_tensor(session, device=device)
        step = torch.as_tensor(step, device=device)
        chain_begin = row_begin = 0
        for size, length, n in zip(sizes.tolist(), lengths.tolist(), rows_per_batch.tolist()):
            batch = flat_device[chain_begin : chain_begin + size]
            batch_session = session[row_begin : row_begin + n]
            batch_step = step[row_begin : row_begin + n]
            x = SessionClicks(self._codes[batch, -length:], batch_session, batch_step)
            y = self._chain_targets[batch[batch_session], batch_step]
            yield last_device[chain_begin : chain_begin + size], x, y
            chain_begin += size
            row_begin += n
