"""A fitted model's item vocabulary: raw item ids to the codes the models compute with."""

import numpy as np
import pandas as pd

__all__ = ["ItemIndex", "UNKNOWN"]

#: Code of padding and of items unknown to the model in encoded prefixes.
UNKNOWN = 0
#: Largest integer id + 1 encoded through a dense lookup table (8 bytes an entry: 128 MiB).
DENSE_TABLE_SIZE = 2**24


class ItemIndex:
    """Codes of the ids of ``items``: ``items[i]`` -> ``i + 1``, anything else -> 0.

    Built once per fitted model. Integer ids below ``DENSE_TABLE_SIZE`` are looked up in a dense
    table; other ids (larger integers, strings, bytes) in a hash table (a pandas Index).

    Parameters
    ----------
    items : ndarray of shape (n_items,)
        Sorted, unique item ids (int64 or object).
    """

    def __init__(self, items):
        self.items = items
        self._table = self._index = None
        if items.dtype.kind == "i" and (not len(items) or items[-1] < DENSE_TABLE_SIZE):
            largest = int(items[-1]) if len(items) else -1
            self._table = np.zeros(largest + 2, dtype=np.int64)  # last entry: ids outside it
            self._table[items] = np.arange(1, len(items) + 1)
        else:
            self._index = pd.Index(items)

    def encode(self, ids):
        """Codes of ``ids`` (checked item ids, any shape): int64 of the same shape."""
        if self._table is not None and ids.dtype.kind == "i":
            outside = len(self._table) - 1
            return self._table[np.where((ids >= 0) & (ids < outside), ids, outside)]
        if self._index is None:  # objects (integers padded with None) against a dense table
            self._index = pd.Index(self.items)
        flat = ids.ravel()
        if self._index.dtype == object and flat.dtype != object:  # e.g. padding alone, as int64:
            flat = flat.astype(object)  # no common type to look for (deprecated under NumPy 1.25)
        position = self._index.get_indexer(flat)
        return (position + 1).astype(np.int64).reshape(ids.shape)
