"""Checks of item-id arrays shared by the data contract and the recommenders.

Item ids are the user's own, as class labels are a classifier's: non-negative integers, or
strings, bytes or other values NumPy can sort, held in object arrays. ``padding_value`` marks
the padding of a prefix and is never an item.
"""

import numbers

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

__all__ = [
    "as_id_array", "check_item_ids", "check_padding_value", "check_not_missing", "is_padding",
    "id_kind", "mixed_types_error", "NO_PADDING",
]

#: ``padding_value`` of arrays that hold no padding (``y``, the clicks of a log).
NO_PADDING = object()

#: What pandas' ``infer_dtype`` calls the kinds of object-array ids that we accept as they are.
_OBJECT_KINDS = {"string", "bytes", "integer", "decimal", "date", "datetime", "time"}


def is_padding(ids, padding_value):
    """Boolean mask of the cells of ``ids`` (any shape) that hold ``padding_value``."""
    if padding_value is NO_PADDING:
        return np.zeros(ids.shape, dtype=bool)
    if padding_value is None or ids.dtype.kind == "O":
        return np.asarray(ids == padding_value, dtype=bool).reshape(ids.shape)
    if ids.dtype.kind in "iuf" and isinstance(padding_value, numbers.Number):
        return ids == padding_value
    return np.zeros(ids.shape, dtype=bool)


def as_id_array(values):
    """``np.asarray(values)``, but a list (or other non-array) that NumPy would make text of
    keeps each element's type in an object array: NumPy makes text of every element of a list
    that holds one string, so that -1 padding would become the item "-1", and the items 7 and
    "7" one item."""
    array = np.asarray(values)
    if array.dtype.kind in "US" and not isinstance(values, np.ndarray):
        return np.asarray(values, dtype=object)
    return array


def check_not_missing(values, name, fix):
    """Raise a ValueError that counts the missing entries (None, NaN, NaT, pd.NA) of the clicks'
    ``values`` (1-D), names the first and ends with ``fix``."""
    missing = pd.isna(values)
    if missing.any():
        count = int(missing.sum())
        raise ValueError(
            f"{name} are missing (None or NaN) on {count:,} click{'s' * (count > 1)} (first at "
            f"position {int(np.argmax(missing))}); {fix}"
        )


def id_kind(ids):
    """The kind of the ids in a checked array: ``"integer"`` for int64 arrays, else the kind
    pandas infers for its objects (``"string"``, ``"bytes"``, ..., ``"empty"``)."""
    if ids.size == 0:  # an empty int64 array is no evidence of integer ids
        return "empty"
    if ids.dtype.kind == "i":
        return "integer"
    return infer_dtype(ids.ravel(), skipna=False)


def mixed_types_error(name, values, padding_value=NO_PADDING, what="item ids"):
    """The TypeError for ``values`` (1-D ``what``) of several types, naming two of them."""
    seen = {}
    for value in values:  # only on the error path: a few values suffice to name the types
        seen.setdefault(type(value).__name__, value)
        if len(seen) > 1:
            break
    examples = " and ".join(f"{value!r} ({kind})" for kind, value in seen.items())
    negative = [v for v in values if isinstance(v, numbers.Integral) and not isinstance(v, bool)
                and v < 0]
    if negative and padding_value is not NO_PADDING:  # padded with another value than expected
        return TypeError(
            f"{name} holds {negative[0]!r} among item ids of another type, as if padded with "
            f"{negative[0]!r}, but padding_value is {padding_value!r}: pad with "
            f"{padding_value!r}, or give the model padding_value={negative[0]!r}."
        )
    return TypeError(
        f"{name} holds {what} of mixed types, such as {examples}. {what.capitalize()} must all "
        "be of one type: convert them, e.g. with .astype(str) on the column they come from."
    )


def _check_objects(array, name, padding_value):
    """Object ids: returned as they are, or as int64 when they are all integers (and the
    padding is an integer too)."""
    padding = is_padding(array, padding_value)
    integer_padding = padding_value is NO_PADDING or isinstance(padding_value, numbers.Integral)
    values = array[~padding]
    kind = infer_dtype(values, skipna=False)
    if kind == "empty" or kind in _OBJECT_KINDS - {"integer"}:
        return array
    if kind == "integer":
        try:
            ids = values.astype(np.int64)
        except OverflowError:
            return array  # integers beyond int64 stay Python integers
        if (ids < 0).any():
            raise ValueError(
                f"{name} contains negative integers (e.g. {ids[ids < 0][0]}); integer item "
                "ids must be non-negative."
            )
        if not integer_padding:
            return array  # integers padded with None or "": keep the objects
        return array.astype(np.int64)
    if kind in ("floating", "mixed-integer-float") and integer_padding:
        return _check_numbers(array.astype(np.float64), name, padding_value)
    missing = pd.isna(values).astype(bool)  # None, NaN, NaT and pd.NA alike
    if missing.any():
        fix = "drop the clicks without an item"
        if padding_value is not NO_PADDING:
            fix = (f"if they pad the prefixes, give the model padding_value=None (it is "
                   f"{padding_value!r}); otherwise {fix}")
        raise ValueError(
            f"{name} contains missing values ({values[missing][0]!r}) that are not the "
            f"padding value: {fix}."
        )
    if kind == "boolean":
        raise TypeError(f"{name} must hold item ids; got booleans.")
    raise mixed_types_error(name, values, padding_value)


def _check_numbers(array, name, padding_value):
    """Numeric ids: integers, or floats holding integral values, as int64."""
    padding_value = None if padding_value is NO_PADDING else padding_value
    kind = array.dtype.kind
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
            "pass such ids as Python integers in an object array, or as strings."
        )
    ids = array.astype(np.int64, copy=False)
    negative = ids < 0
    if padding_value is not None:
        negative &= ids != padding_value
    if negative.any():
        allowed = "" if padding_value is None else f" other than padding_value={padding_value}"
        raise ValueError(
            f"{name} contains negative values{allowed} (e.g. {ids[negative].flat[0]}); "
            "integer item ids must be non-negative."
        )
    return ids


def check_item_ids(values, *, name, padding_value=NO_PADDING, ndim=1):
    """Return ``values`` as an array of item ids, or raise naming the problem.

    Parameters
    ----------
    values : array-like
        Item ids: non-negative integers (or floats holding integral values), or strings,
        bytes or other sortable values of one type.
    name : str
        How the array is called in error messages (``"X"``, ``"item_ids"``).
    padding_value : object, default=NO_PADDING
        The value that marks padding (allowed among the ids, never one of them); by default
        the ids hold no padding. With None, missing values (NaN, ``pd.NA``: what a data frame
        makes of None) are padding too.
    ndim : int
        Required number of dimensions.

    Returns
    -------
    ids : ndarray with ``ndim`` dimensions
        int64 for integer ids; an object array otherwise (strings and bytes included).
    """
    try:
        array = as_id_array(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as an array of item ids: {exc}") from exc
    if array.ndim != ndim:
        shape = "a 1-D array" if ndim == 1 else "a 2-D array (n_samples, max_len)"
        raise ValueError(f"{name} must be {shape}; got an array of shape {array.shape}.")
    kind = array.dtype.kind
    if kind in "USO":
        array = array.astype(object)  # a copy
        if padding_value is None and kind == "O":  # a data frame's None padding: NaN or NA
            array[pd.isna(array)] = None
        return _check_objects(array, name, padding_value) if array.size else array
    if kind in "bcmMV" or kind not in "iuf":
        raise TypeError(
            f"{name} must hold item ids (integers, strings or bytes); got dtype {array.dtype}."
        )
    if padding_value is not NO_PADDING and not isinstance(padding_value, numbers.Integral):
        # a numeric array holds no such padding: full rows of integer ids, kept as the
        # objects that integer ids padded with None or "" are (see _check_objects)
        if array.size and (array < 0).any():
            negative = array[array < 0].flat[0].item()
            raise TypeError(
                f"{name} holds {negative!r} among integer item ids, as if padded with it, but "
                f"padding_value={padding_value!r} is not an integer: pad with "
                f"{padding_value!r}, or use a negative integer (the default -1) as padding_value."
            )
        return _check_numbers(array, name, NO_PADDING).astype(object)
    return _check_numbers(array, name, padding_value)


def check_padding_value(padding_value):
    """Raise unless ``padding_value`` can mark padding: a negative integer, or any hashable
    value that is not a number (for string ids, e.g. None or ``""``)."""
    if isinstance(padding_value, bool | np.bool_):
        raise TypeError(f"padding_value must not be a boolean; got {padding_value!r}.")
    if isinstance(padding_value, numbers.Integral):
        if padding_value >= 0:
            raise ValueError(
                "padding_value must be negative so that it can never be an item id; "
                f"got {padding_value}."
            )
        return int(padding_value)
    if isinstance(padding_value, numbers.Number):
        raise TypeError(
            f"padding_value must be an integer (for integer ids) or a value such as None or "
            f"'' (for string ids); got {padding_value!r}."
        )
    try:
        hash(padding_value)
    except TypeError:
        raise TypeError(f"padding_value must be hashable; got {padding_value!r}.") from None
    return padding_value
