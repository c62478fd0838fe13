"""Saving fitted recommenders to a file that executes nothing when it is loaded.

A pickle (or a joblib file) runs code of the pickler's choosing when it is loaded, so a model
file from elsewhere is a security risk. :func:`dump` writes a fitted recommender as a NumPy
``.npz`` archive instead: its arrays (weights, similarity matrices, item ids) as plain NumPy
arrays, read with ``allow_pickle=False``, and everything else (the class name, the parameters,
scalars, strings) as JSON. :func:`load` rebuilds only skvaser's own recommender classes and
the few value types listed below, and refuses anything else.

Use pickle or joblib for files you made yourself (they keep any attribute you add); use
:func:`dump` / :func:`load` for files that cross a trust boundary (downloaded, shared, stored
where others can write).
"""

import base64
import contextlib
import io
import json
import os
import zipfile
from dataclasses import fields, is_dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .base import BaseRecommender

__all__ = ["dump", "load", "InconsistentVersionWarning"]

#: Version of the file layout written by :func:`dump`.
FORMAT_VERSION = 1
#: Name of the JSON document inside the archive.
_HEADER = "skvaser.json"


class InconsistentVersionWarning(UserWarning):
    """A model is loaded under another skvaser version than the one that saved it.

    Its behaviour is not guaranteed: refit it under the current version, or install the
    version that saved it (scikit-learn's ``InconsistentVersionWarning`` idiom).

    Attributes
    ----------
    estimator_name : str
    original_version : str
        skvaser's version when the model was saved (``"unknown"`` for models saved before
        versions were recorded).
    current_version : str
    """

    def __init__(self, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"Loading {self.estimator_name} saved with skvaser {self.original_version} under "
            f"skvaser {self.current_version}: its behaviour is not guaranteed. Refit the model "
            f"under skvaser {self.current_version}, or install skvaser {self.original_version}."
        )


def _trusted_types():
    """The classes :func:`load` may rebuild: skvaser's recommenders and their value types."""
    import skvaser

    from .nn.trainer import TrainingHistory

    classes = [getattr(skvaser, name) for name in skvaser.__all__]
    recommenders = [
        cls for cls in classes if isinstance(cls, type) and issubclass(cls, BaseRecommender)
    ]
    return {cls.__name__: cls for cls in [*recommenders, TrainingHistory]}


class _Writer:
    """Turns a state dict into JSON-able values, collecting its arrays on the side.

    A recommender inside the state (a member of a :class:`~skvaser.VotingRecommender`) is
    written once, with a number; where the state holds it again, the number alone is written.
    """

    def __init__(self):
        self.arrays = {}
        self._recommenders = {}  # id(recommender) -> its number
        self._kept = []  # the numbered recommenders, alive while their ids are keys

    def _array(self, array):
        key = f"array_{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(array)
        return key

    def encode(self, value, where):
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if np.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.generic):
            return self.encode(value.item(), where)
        if isinstance(value, bytes):
            return {"bytes": base64.b64encode(value).decode("ascii")}
        if isinstance(value, list | tuple):
            items = [self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return {"list" if isinstance(value, list) else "tuple": items}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError(f"{where} is a dict with keys that are not strings.")
            return {
                "dict": {key: self.encode(item, f"{where}.{key}") for key, item in value.items()}
            }
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "O":
                items = [self.encode(item, f"{where}[]") for item in value.ravel()]
                return {"objects": items, "shape": list(value.shape)}
            if value.dtype.kind in "biuf":
                return {"array": self._array(value)}
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu()
            if tensor.dtype == torch.bfloat16:
                raise TypeError(f"{where} is a bfloat16 tensor, which NumPy cannot hold.")
            return {"tensor": self._array(tensor.numpy())}
        if isinstance(value, torch.device):
            return {"device": str(value)}
        if sp.issparse(value) and value.format == "csr":
            parts = {"data": value.data, "indices": value.indices, "indptr": value.indptr}
            return {
                "csr": {name: self._array(part) for name, part in parts.items()},
                "shape": list(value.shape),
            }
        if isinstance(value, BaseRecommender):
            return self._recommender(value, where)
        if is_dataclass(value) and type(value).__name__ in _trusted_types():
            state = {f.name: getattr(value, f.name) for f in fields(value)}
            return {"object": type(value).__name__, "state": self.encode(state, where)}
        raise TypeError(
            f"{where} holds a {type(value).__name__}, which skvaser.persistence.dump cannot "
            "save without pickle; save the model with joblib or pickle instead."
        )

    def _recommender(self, model, where):
        name = type(model).__name__
        if _trusted_types().get(name) is not type(model):
            raise TypeError(
                f"{where} is a {name}, not one of skvaser's recommenders, which "
                "skvaser.persistence.dump cannot save without pickle; save the model with "
                "joblib or pickle instead."
            )
        if id(model) in self._recommenders:
            return {"same": self._recommenders[id(model)]}
        number = self._recommenders[id(model)] = len(self._kept)
        self._kept.append(model)
        return {"recommender": [name, number], "state": self.encode(model.__getstate__(), where)}


class _Reader:
    """Rebuilds the values written by :class:`_Writer`; refuses anything else."""

    def __init__(self, arrays, trusted):
        self.arrays, self.trusted = arrays, trusted
        self._recommenders = []  # by their numbers in the file

    def _array(self, key):
        if not isinstance(key, str) or key not in self.arrays:
            raise ValueError(f"the file refers to an array {key!r} that it does not hold.")
        return self.arrays[key]

    def decode(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if not isinstance(value, dict) or len(value) not in (1, 2):
            raise ValueError(f"unexpected value {str(value)[:80]!r}.")
        tag = next(iter(value))
        content = value[tag]
        if tag == "float":
            return float(content)  # only 'nan', 'inf', '-inf' are written
        if tag == "bytes":
            return base64.b64decode(content)
        if tag in ("list", "tuple"):
            items = [self.decode(item) for item in content]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return {key: self.decode(item) for key, item in content.items()}
        if tag == "objects":
            array = np.empty(len(content), dtype=object)
            array[:] = [self.decode(item) for item in content]
            return array.reshape(value["shape"])
        if tag == "array":
            return self._array(content)
        if tag == "tensor":
            return torch.from_numpy(self._array(content).copy())
        if tag == "device":
            return torch.device(content)
        if tag == "csr":
            parts = {name: self._array(key) for name, key in content.items()}
            return sp.csr_array(
                (parts["data"], parts["indices"], parts["indptr"]), shape=tuple(value["shape"])
            )
        if tag == "object":
            if content not in self.trusted:
                raise ValueError(f"the file asks for a {content!r}, which is not trusted.")
            return self.trusted[content](**self.decode(value["state"]))
        if tag == "recommender":
            name, number = content
            if number != len(self._recommenders):
                raise ValueError(f"recommender number {number!r} is out of order.")
            self._recommenders.append(None)  # its number is taken while its state is read
            model = self.recommender(name, value["state"])
            self._recommenders[number] = model
            return model
        if tag == "same":
            if not isinstance(content, int) or not 0 <= content < len(self._recommenders):
                raise ValueError(f"the file refers to a recommender {content!r} it does not hold.")
            if self._recommenders[content] is None:
                raise ValueError(f"recommender {content} refers to itself.")
            return self._recommenders[content]
        raise ValueError(f"unknown value tag {tag!r}.")

    def recommender(self, name, state):
        """A recommender of the trusted class ``name`` rebuilt from its written ``state``."""
        cls = self.trusted.get(name)
        if not isinstance(cls, type) or not issubclass(cls, BaseRecommender):
            raise ValueError(f"The file asks for a {name!r}, which is not trusted.")
        state = self.decode(state)
        if not isinstance(state, dict):
            raise ValueError("The model file is damaged or altered: a state is not a mapping.")
        model = cls.__new__(cls)
        model.__setstate__(state)
        return model


def dump(model, file):
    """Save a fitted skvaser recommender without pickle.

    Parameters
    ----------
    model : BaseRecommender
        A fitted recommender of skvaser's own classes (a :class:`~skvaser.VotingRecommender`
        with its members). Parameters that only pickle can save (a ``RandomState`` as
        ``random_state``) raise a TypeError.
    file : str, path-like or binary file object
        Where to write the archive (an ``.npz`` file, at exactly this path, whatever its
        suffix).

    See Also
    --------
    load : Read it back.

    Examples
    --------
    >>> import io
    >>> from skvaser import ItemKNNRecommender
    >>> from skvaser.persistence import dump, load
    >>> model = ItemKNNRecommender().fit([[-1, "a"], ["a", "b"]], ["b", "c"])
    >>> buffer = io.BytesIO()
    >>> dump(model, buffer)
    >>> load(buffer.getvalue()).predict([[-1, "a"]])[0, :2]
    array(['b', 'c'], dtype=object)
    """
    name = type(model).__name__
    if _trusted_types().get(name) is not type(model):
        raise TypeError(f"dump saves skvaser's recommenders only; got a {name}.")
    if not hasattr(model, "items_"):
        raise ValueError(f"This {name} is not fitted yet: fit it before saving it.")
    writer = _Writer()
    header = {
        "format": FORMAT_VERSION,
        "class": name,
        "state": writer.encode(model.__getstate__(), name),
    }
    document = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    # a name is opened here: np.savez would append ".npz" to it
    named = isinstance(file, str | os.PathLike)
    with open(file, "wb") if named else contextlib.nullcontext(file) as stream:
        np.savez(stream, **{_HEADER: document}, **writer.arrays)


def _read_arrays(file):
    """The arrays of the ``.npz`` archive ``file``, or a ValueError that says what it is."""
    if isinstance(file, bytes | bytearray):
        file = io.BytesIO(file)
    damaged = "it is truncated, damaged, or not written by skvaser.persistence.dump"
    try:
        archive = np.load(file, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except ValueError as exc:  # NumPy takes what is neither .npz nor .npy for a pickle
        raise ValueError(
            "Could not read a skvaser model file: this file is neither an archive written by "
            "skvaser.persistence.dump nor any NumPy file. If it is a pickle or joblib file "
            "(pickle.dump, joblib.dump), read it with joblib.load, which runs code from the "
            "file: only for a file from a source you trust."
        ) from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"Could not read a skvaser model file ({exc}); {damaged}.") from exc
    if isinstance(archive, np.ndarray):
        raise ValueError(
            "Could not read a skvaser model file: this file holds one NumPy array (.npy), not "
            "an archive written by skvaser.persistence.dump."
        )
    try:
        with archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"Could not read a skvaser model file ({exc}); {damaged}.") from exc


def load(file):
    """Load a recommender saved by :func:`dump`, executing nothing from the file.

    Only skvaser's recommender classes and plain values (numbers, strings, lists, dicts,
    NumPy arrays of numbers, sparse matrices, tensors) are rebuilt; a file that asks for
    anything else, or holds arrays of Python objects, is refused with a ValueError.

    Parameters
    ----------
    file : str, path-like, binary file object or bytes
        An archive written by :func:`dump`.

    Returns
    -------
    model : BaseRecommender
        The fitted recommender, on the device it was fitted on where available (else the CPU,
        with a warning). Warns with :class:`InconsistentVersionWarning` when another skvaser
        version saved it.
    """
    arrays = _read_arrays(file)
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            "This file holds no skvaser model header: it was not written by "
            "skvaser.persistence.dump, or it was altered."
        ) from exc
    found = header.get("format") if isinstance(header, dict) else None
    if found != FORMAT_VERSION:
        raise ValueError(
            f"Unknown model file format {found!r}; this skvaser reads format {FORMAT_VERSION}."
        )
    try:
        return _Reader(arrays, _trusted_types()).recommender(header.get("class"), header["state"])
    except (TypeError, KeyError, AttributeError, IndexError, RuntimeError) as exc:
        # a value of the wrong shape or kind where the state expects another
        raise ValueError(f"The model file is damaged or altered: {exc}") from exc
