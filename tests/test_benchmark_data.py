"""The benchmarks' data helper (``benchmarks/_data.py``): where a script finds a data set named
on its command line, and the validation split on which every design choice is made."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

spec = importlib.util.spec_from_file_location(
    "benchmark_data", Path(__file__).resolve().parents[1] / "benchmarks" / "_data.py"
)
benchmark_data = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_data)


@pytest.fixture
def shared_data(tmp_path, monkeypatch):
    """A ``shared/data`` folder beside a working directory, with one data file in it."""
    folder = tmp_path / "shared" / "data"
    folder.mkdir(parents=True)
    (folder / "clicks.csv.gz").write_bytes(b"")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return folder


@pytest.mark.parametrize("name", ["clicks", "clicks.csv.gz"])
def test_data_file_by_name(shared_data, name):
    assert benchmark_data.data_file(name) == shared_data / "clicks.csv.gz"


def test_data_file_by_path(shared_data, tmp_path):
    path = tmp_path / "elsewhere.csv"
    path.write_bytes(b"")
    assert benchmark_data.data_file(str(path)) == path


def test_data_file_in_working_folder_first(shared_data):
    own = Path.cwd() / "shared" / "data"
    own.mkdir(parents=True)
    (own / "clicks.csv.gz").write_bytes(b"")
    assert benchmark_data.data_file("clicks").resolve() == (own / "clicks.csv.gz").resolve()


@pytest.mark.parametrize("name", ["missing", "other/clicks"])
def test_data_file_missing_names_the_folders(shared_data, name):
    with pytest.raises(SystemExit, match=f"no data file '{name}'.*{shared_data}.*--data"):
        benchmark_data.data_file(name)


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 10**6)), min_size=1, max_size=60),
    st.sampled_from([0.1, 0.25, 0.5]),
)
def test_validation_split_holds_out_the_most_recent_sessions(clicks, fraction):
    sessions = np.array([session for session, _ in clicks])
    times = np.array([time for _, time in clicks])
    items = np.arange(len(clicks))
    (fit_sessions, fit_items, fit_times), (held_sessions, held_items, _) = (
        benchmark_data.validation_split((sessions, items, times), fraction)
    )
    # every row in exactly one part, in its order, and every session whole in one part
    assert sorted([*fit_items, *held_items]) == list(items)
    assert list(fit_items) == sorted(fit_items) and list(held_items) == sorted(held_items)
    assert not set(fit_sessions) & set(held_sessions)
    # the held-out sessions began after every session kept for fitting
    first = {s: times[sessions == s].min() for s in np.unique(sessions)}
    if len(held_sessions) and len(fit_sessions):
        assert min(first[s] for s in held_sessions) > max(first[s] for s in fit_sessions)
    # the fraction asked of the sessions is held out, give or take a session of rounding
    n_held = len(set(held_sessions))
    assert n_held <= fraction * len(first) + 1
    if len(set(first.values())) == len(first):  # no ties at the cut
        assert n_held >= fraction * len(first) - 1
