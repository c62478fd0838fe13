"""Hyper-parameter search scaled out through joblib: Dask's backend and loky's thread limits.

Needs the ``[distributed]`` extra (``pip install "skvaser[distributed]"``); skipped without it.
"""

import os

import joblib
import numpy as np
import pytest
import torch
from _settings import make_fast
from sklearn.model_selection import GridSearchCV

from skvaser import SCORERS, SessionSplitter, VASERRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions

N_JOBS = 2
GRID = {"beta": [0.0, 0.5], "n_flows": [0, 2]}


def torch_threads(estimator, X, y):
    """A "scorer" that reports how many threads torch uses where the fold was fitted."""
    return float(torch.get_num_threads())


def process_id(estimator, X, y):
    """A "scorer" that reports the process in which the fold was scored."""
    return float(os.getpid())


def _search():
    # a later fold clicks items the earlier one has not: skipped, silently
    model = make_fast(VASERRecommender, handle_unknown="ignore")
    return GridSearchCV(
        model, GRID, cv=SessionSplitter(n_splits=2), n_jobs=N_JOBS, error_score="raise",
        scoring={**SCORERS, "threads": torch_threads, "pid": process_id}, refit="recall@20",
    )


@pytest.fixture(scope="module")
def data():
    return sessions_to_prefixes(*make_sessions(150, 40, random_state=0), max_len=8)


@pytest.fixture(scope="module")
def loky_search(data):
    X, y, groups = data
    with joblib.parallel_backend("loky"):
        return _search().fit(X, y, groups=groups)


def _scores(search):
    results = search.cv_results_
    return {
        key: results[key]
        for key in results
        if key.startswith(("split", "mean_test", "std_test", "rank_test"))
        and not key.endswith(("_threads", "_pid"))
    }


def test_grid_search_on_a_dask_cluster_equals_loky(data, loky_search):
    pytest.importorskip("distributed")
    from dask.distributed import Client, LocalCluster

    X, y, groups = data
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
        joblib.parallel_backend("dask"),
    ):
        search = _search().fit(X, y, groups=groups)
        workers = set(client.run(os.getpid).values())
    # every fold was fitted and scored in one of the cluster's two worker processes
    assert len(workers) == 2 and os.getpid() not in workers
    ran_in = {
        int(pid) for i in range(2) for pid in search.cv_results_[f"split{i}_test_pid"]
    }
    assert ran_in and ran_in <= workers
    reference = loky_search
    if not (loky_search.cv_results_["mean_test_threads"] == 1).all():
        # fits agree bit for bit at the same thread count only: one, as in Dask's workers
        with joblib.parallel_backend("loky", inner_max_num_threads=1):
            reference = _search().fit(X, y, groups=groups)
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    expected = _scores(reference)
    for key, value in _scores(search).items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)
    assert search.best_params_ == reference.best_params_
    np.testing.assert_array_equal(search.predict(X[:50]), reference.predict(X[:50]))
    # Dask's nanny starts workers with OMP_NUM_THREADS=1: one torch thread per worker process
    assert (search.cv_results_["mean_test_threads"] == 1).all()


def test_loky_workers_do_not_oversubscribe_torch_threads(loky_search):
    """joblib caps OpenMP threads in loky workers at cpu_count // n_jobs; torch follows."""
    limit = max(joblib.cpu_count() // N_JOBS, 1)
    threads = [
        loky_search.cv_results_[f"split{i}_test_threads"] for i in range(2)
    ]
    assert np.all(np.concatenate(threads) <= limit)
    assert np.all(np.concatenate(threads) >= 1)


def _torch_threads_in_worker(_):
    import torch

    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def test_torch_follows_the_limit_joblib_sets(monkeypatch):
    """Where the parent sets no OMP_NUM_THREADS, joblib gives loky workers cpu_count // n_jobs
    (or ``inner_max_num_threads``) through the environment, and torch uses exactly that."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    limit = max(joblib.cpu_count() // N_JOBS, 1)
    found = joblib.Parallel(n_jobs=N_JOBS, backend="loky")(
        joblib.delayed(_torch_threads_in_worker)(i) for i in range(4)
    )
    assert found == [(limit, str(limit))] * 4
    with joblib.parallel_config(backend="loky", inner_max_num_threads=2):
        found = joblib.Parallel(n_jobs=N_JOBS)(
            joblib.delayed(_torch_threads_in_worker)(i) for i in range(4)
        )
    assert found == [(2, "2")] * 4
