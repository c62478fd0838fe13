"""The real data the benchmarks read: where they lie, and the validation split.

The data sets sit in ``shared/data`` beside the repository (``../shared/data`` from its root or
from the working directory, or ``./shared/data``) and are never copied into it. Every script's
``--data`` takes a file of that folder by name, with or without ``.csv.gz`` (``yoochoose1_64``,
``diginetica.csv.gz``), or a path.
"""

import sys
from pathlib import Path

import numpy as np

#: The repository's root.
ROOT = Path(__file__).resolve().parents[1]
#: The ``--help`` of every script's ``--data``.
DATA_HELP = "a file of shared/data by name (with or without .csv.gz), or its path"


def shared_data_folders():
    """The folders searched, in order: ``shared/data`` in and beside the working directory,
    then in and beside the repository."""
    folders = []
    for base in (Path.cwd(), ROOT):
        for folder in (base / "shared" / "data", base.parent / "shared" / "data"):
            if folder not in folders:
                folders.append(folder)
    return folders


def data_file(name):
    """The file ``name``: a path to it, or its name in a shared data folder; exits (naming the
    folders searched) where there is none."""
    path = Path(name)
    if path.is_file():
        return path
    folders = shared_data_folders()
    if path.parent == Path("."):
        for folder in folders:
            for candidate in (folder / path.name, folder / f"{path.name}.csv.gz"):
                if candidate.is_file():
                    return candidate
    sys.exit(
        f"no data file {name!r}: it is not a file, nor a name (with or without .csv.gz) in "
        f"{', '.join(str(folder) for folder in folders)}; pass --data with its path "
        "(the data sets: shared/data/README.md beside the repository)"
    )


def validation_split(train, fraction=0.1):
    """Training sessions without their most recent ``fraction`` (by first click), and those:
    two ``(sessions, items, times)`` triples of ``train``'s rows."""
    sessions, items, times = train
    ids, session_index = np.unique(sessions, return_inverse=True)
    first = np.full(len(ids), np.inf)
    np.minimum.at(first, session_index, times.astype(np.float64))
    recent = (first > np.quantile(first, 1.0 - fraction))[session_index]
    return (
        (sessions[~recent], items[~recent], times[~recent]),
        (sessions[recent], items[recent], times[recent]),
    )
