"""Checks of item-id arrays shared by the data contract and the recommenders."""

import numbers

import numpy as np


def check_item_ids(values, *, name, padding_value=None, ndim=1):
    """Return ``values`` as an int64 array of item ids, or raise naming the problem.

    Parameters
    ----------
    values : array-like
        Item ids: integers, or floats holding integral values.
    name : str
        How the array is called in error messages (``"X"``, ``"item_ids"``).
    padding_value : int or None
        The one negative value allowed (it marks padding), if any.
    ndim : int
        Required number of dimensions.

    Returns
    -------
    ids : ndarray of int64, with ``ndim`` dimensions
    """
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as an array of item ids: {exc}") from exc
    if array.ndim != ndim:
        shape = "a 1-D array" if ndim == 1 else "a 2-D array (n_samples, max_len)"
        raise ValueError(f"{name} must be {shape}; got an array of shape {array.shape}.")
    kind = array.dtype.kind
    if kind in "OUSV":
        raise TypeError(
            f"{name} must hold integer item ids; got dtype {array.dtype}. Encode string ids "
            "with skvaser.datasets.encode_items (the loaders do this for you)."
        )
    if kind in "bc" or kind not in "iuf":
        raise TypeError(f"{name} must hold integer item ids; got dtype {array.dtype}.")
    if kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values; item ids must be integers.")
        if not (array == np.round(array)).all():
            raise ValueError(
                f"{name} contains non-integer values such as "
                f"{array[array != np.round(array)].flat[0]!r}; item ids must be integers."
            )
        if array.size and np.abs(array).max() >= 2**53:
            raise ValueError(f"{name} holds floats too large to be exact item ids.")
    if kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(
            f"{name} holds unsigned values such as {array.max()} that do not fit in int64; "
            "item ids must be below 2**63."
        )
    ids = array.astype(np.int64, copy=False)
    negative = ids < 0
    if padding_value is not None:
        negative &= ids != padding_value
    if negative.any():
        allowed = "" if padding_value is None else f" other than padding_value={padding_value}"
        raise ValueError(
            f"{name} contains negative values{allowed} (e.g. {ids[negative].flat[0]}); "
            "item ids must be non-negative integers."
        )
    return ids


def check_padding_value(padding_value):
    """Raise unless ``padding_value`` is a negative integer (it must never be an item id)."""
    if isinstance(padding_value, bool) or not isinstance(padding_value, numbers.Integral):
        raise TypeError(f"padding_value must be an integer; got {padding_value!r}.")
    if padding_value >= 0:
        raise ValueError(
            "padding_value must be negative so that it can never be an item id; "
            f"got {padding_value}."
        )
    return int(padding_value)
