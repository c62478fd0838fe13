"""Latency of one call: ``predict`` on one live session at a time, as a web service calls it.

    python benchmarks/latency.py                          # YOOCHOOSE 1/64 and 10^6 items
    python benchmarks/latency.py --catalogues yoochoose   # YOOCHOOSE 1/64 only
    python benchmarks/latency.py --models itemknn,vaser --calls 5000

For each model and catalogue the script fits the model, warms it up, then times ``--calls``
calls of ``predict(X[i:i+1])`` on test prefixes drawn at random (the whole session so far as the
query, as ``make_queries`` builds it) and prints the median (p50), the 99th percentile (p99) and
the slowest call in milliseconds, then the batch throughput: one ``predict`` call on every test
prefix, in prefixes per second.

Catalogues:

- ``yoochoose``: YOOCHOOSE 1/64 (``../shared/data/yoochoose1_64.csv.gz``, 17,745 training
  items), training prefixes of width 30, test prefixes of the published split.
- ``million``: 10^6 items, one training row per synthetic session of 31 distinct clicks (the
  first 30 the prefix, the last the target), every item clicked at least once; the queries are
  1 to 30 clicks of the same kind.

Latency does not depend on how well a model is trained, so the neural models are fitted for
``--max-iter`` epochs (default 1) with the paper's sizes (embedding 50, hidden 100), on 10^6
items with the sampled softmax (``n_negatives=2048``; prediction ranks the full catalogue
all the same); the neighbourhood models are fitted as they are. The machine line (CPU flags,
threads, load) is printed first, the load after every model: p99 is the first figure to
suffer on a loaded machine.
"""

import argparse
import time

import numpy as np
import torch
from _data import DATA_HELP, data_file
from _machine import describe, load

from skvaser import (
    ItemKNNRecommender,
    NARMRecommender,
    SessionKNNRecommender,
    VASERRecommender,
    sessions_to_prefixes,
)
from skvaser.evaluation import load_train_test

MAX_LEN = 30
MILLION = 10**6


def build(name, max_iter, n_negatives=0, seed=0):
    neural = dict(max_iter=max_iter, n_negatives=n_negatives, random_state=seed, device="cpu")
    return {
        "itemknn": lambda: ItemKNNRecommender(),
        "sknn": lambda: SessionKNNRecommender(),
        "narm": lambda: NARMRecommender(**neural),
        "vaser": lambda: VASERRecommender(**neural),
    }[name]()


def yoochoose(path):
    """Training prefixes and test prefixes of YOOCHOOSE 1/64 (width 30)."""
    train, test, _ = load_train_test(path)
    X, y, _ = sessions_to_prefixes(*train, max_len=MAX_LEN)
    X_test, _, _ = sessions_to_prefixes(*test, max_len=MAX_LEN)
    return X, y, X_test


def million(seed=0):
    """One row per synthetic session of 31 distinct clicks over 10^6 items (each clicked)."""
    rng = np.random.default_rng(seed)
    n_rows = -(-MILLION // (MAX_LEN + 1))
    clicks = rng.permutation(n_rows * (MAX_LEN + 1)) % MILLION
    clicks = clicks.reshape(n_rows, MAX_LEN + 1)
    X, y = clicks[:, :MAX_LEN], clicks[:, MAX_LEN]
    lengths = rng.integers(1, MAX_LEN + 1, 4000)
    X_test = np.where(np.arange(MAX_LEN) >= MAX_LEN - lengths[:, None],
                      rng.integers(0, MILLION, (len(lengths), MAX_LEN)), -1)
    return X, y, X_test


def single_calls(model, X_test, calls, seed=0):
    """Milliseconds of ``calls`` one-row predict calls on random test prefixes."""
    rows = np.random.default_rng(seed).integers(0, len(X_test), calls)
    for row in rows[:50]:  # warm-up: first-call allocations and kernel choices
        model.predict(X_test[row : row + 1])
    seconds = np.empty(calls)
    for i, row in enumerate(rows):
        query = X_test[row : row + 1]
        start = time.perf_counter()
        model.predict(query)
        seconds[i] = time.perf_counter() - start
    return 1e3 * seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--models", default="itemknn,sknn,narm,vaser")
    parser.add_argument("--catalogues", default="yoochoose,million")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=1)
    args = parser.parse_args(argv)
    unknown = set(args.catalogues.split(",")) - {"yoochoose", "million"}
    if unknown:
        parser.error(f"--catalogues takes yoochoose and million; got {', '.join(sorted(unknown))}")
    torch.set_num_threads(args.threads)

    print(describe(), flush=True)
    print("catalogue   model     items   fit s   p50 ms   p99 ms   max ms   batch prefixes/s")
    for catalogue in args.catalogues.split(","):
        X, y, X_test = yoochoose(data_file(args.data)) if catalogue == "yoochoose" else million()
        for name in args.models.split(","):
            # the 10^6-item fit trains with a sampled softmax: latency is the same either way
            model = build(name, args.max_iter, 2048 if catalogue == "million" else 0)
            start = time.perf_counter()
            model.set_params(handle_unknown="ignore").fit(X, y)
            fit_seconds = time.perf_counter() - start
            times = single_calls(model, X_test, args.calls)
            start = time.perf_counter()
            model.predict(X_test)
            throughput = len(X_test) / (time.perf_counter() - start)
            print(
                f"{catalogue:10s}  {name:7s} {model.n_items_:8d} {fit_seconds:7.1f} "
                f"{np.percentile(times, 50):8.3f} {np.percentile(times, 99):8.3f} "
                f"{times.max():8.2f} {throughput:12,.0f}   ({load()})",
                flush=True,
            )


if __name__ == "__main__":
    main()
