"""The sampled softmax (``n_negatives``) on a catalogue of 10^6 items, and its accuracy.

Prints the machine, then for NARM and VASER at the paper's sizes (embedding 50, hidden 100)
with ``n_negatives=2048``: the training samples per second of each epoch and the peak memory
of the whole fit (VmHWM: data, item tables, their optimiser state, everything), each model in a
process of its own. The data: synthetic sessions of 31 distinct clicks, covering every item
once (``million()`` of ``latency.py``), read in two layouts (``--layouts``):

- ``rows``: one sample per session, its last 30 clicks and the next item. Every sample is a
  window of 30 clicks that shares nothing with the others: the most work a sample can cost.
- ``prefixes``: every prefix of every session a sample (30 per session, of 1 to 30 clicks), as
  ``sessions_to_prefixes`` reads a log; VASER's default ``batching="sessions"`` encodes a
  session's prefixes in one pass, so a sample costs one click of the encoder (NARM's default
  batches of prefixes encode each prefix anew).

With ``--accuracy``, also VASER with ``n_negatives=2048`` on YOOCHOOSE 1/64 (``--data``):
Recall@20, MRR@20 and the fit's seconds, to read against the full softmax's figures of the same
seed (``benchmarks/README.md``).

    python benchmarks/sampled_softmax.py [--models narm,vaser] [--epochs 1] [--threads N]
                                         [--precisions auto float32] [--layouts rows prefixes]
                                         [--accuracy] [--data PATH]

``--precisions auto float32`` fits each model with both products side by side: ``"float32"``
is what ``"auto"`` gives on a CPU without bfloat16 instructions.

On a machine shared with other jobs, ``--threads 1`` measures the work of a step rather than
the waits of two threads for each other (``_machine.describe()`` prints the load).
"""

import argparse
import itertools
import json
import subprocess
import sys
import time

import numpy as np
import torch
from _data import DATA_HELP, data_file
from _machine import describe, load
from latency import MAX_LEN, MILLION, million  # benchmarks/ is the script's folder

from skvaser import (
    NARMRecommender,
    VASERRecommender,
    mrr_at_k,
    recall_at_k,
    sessions_to_prefixes,
)
from skvaser.evaluation import load_train_test

N_NEGATIVES = 2048


def every_prefix(X, y):
    """Every prefix of the sessions ``X`` followed by ``y`` (rows of ``latency.million()``):
    ``(X, y)`` of 30 samples a session."""
    clicks = np.concatenate([X, y[:, None]], axis=1)
    sessions = np.repeat(np.arange(len(clicks)), clicks.shape[1])
    X, y, _ = sessions_to_prefixes(sessions, clicks.ravel(), max_len=MAX_LEN)
    return X, y


def peak_gib():
    """The process's peak resident memory (VmHWM), GiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def one(name, epochs, threads, precision, layout):
    """Fit ``name`` on the 10^6-item data in ``layout`` in this process; print one JSON line."""
    if threads:
        torch.set_num_threads(threads)

    cls = {"narm": NARMRecommender, "vaser": VASERRecommender}[name]
    windows, targets, _ = million()
    X, y = (windows, targets) if layout == "rows" else every_prefix(windows, targets)
    model = cls(n_negatives=N_NEGATIVES, max_iter=epochs, random_state=0, device="cpu",
                matmul_precision=precision)
    started = time.perf_counter()
    model.fit(X, y)
    fit_seconds = time.perf_counter() - started
    epoch_seconds = model._history.seconds  # the trainer's per-epoch wall time
    started = time.perf_counter()
    model.predict(windows[:1000])  # the same 1,000 windows of 30 clicks in both layouts
    print(json.dumps({
        "model": name, "layout": layout, "batching": model.batching, "rows": len(X),
        "items": model.n_items_,
        "samples_per_s": [len(X) / s for s in epoch_seconds],
        "fit_s": fit_seconds, "predict_s": (time.perf_counter() - started),
        "precision": model.matmul_precision_, "peak_gib": peak_gib(),
        "threads": torch.get_num_threads(),
    }))


def accuracy(path):
    train, test, _ = load_train_test(path)
    X, y, _ = sessions_to_prefixes(*train, max_len=30)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=30)
    model = VASERRecommender(random_state=0, n_negatives=N_NEGATIVES)
    started = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - started
    top = model.predict(X_test)
    print(
        f"VASER n_negatives={N_NEGATIVES} random_state=0 on {path.name}: "
        f"Recall@20 {100 * recall_at_k(y_test, top, k=20):.2f}, "
        f"MRR@20 {100 * mrr_at_k(y_test, top, k=20):.2f}, fit {seconds:.0f} s "
        f"({model.matmul_precision_}; {load()})",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="narm,vaser")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of every fit (default: torch's choice)")
    parser.add_argument("--precisions", nargs="+", default=["auto"],
                        help="matmul_precision values, each model fitted with every one")
    parser.add_argument("--layouts", nargs="+", choices=["rows", "prefixes"],
                        default=["rows", "prefixes"],
                        help="the samples: a row of 30 clicks per session, or every prefix")
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return one(args.one, args.epochs, args.threads, args.precisions[0], args.layouts[0])
    if args.threads:
        torch.set_num_threads(args.threads)  # the accuracy fit's too
    print(describe(), flush=True)
    n_sessions = -(-MILLION // (MAX_LEN + 1))
    print(f"10^6 items, {n_sessions:,} sessions of {MAX_LEN + 1} clicks (rows: one sample of "
          f"{MAX_LEN} clicks each; prefixes: {n_sessions * MAX_LEN:,} samples), embedding 50, "
          f"hidden 100, n_negatives={N_NEGATIVES}, batch 512", flush=True)
    names = filter(None, args.models.split(","))
    for layout, name, precision in itertools.product(args.layouts, names, args.precisions):
        result = subprocess.run(
            [sys.executable, __file__, "--one", name, "--epochs", str(args.epochs),
             "--threads", str(args.threads), "--precisions", precision, "--layouts", layout],
            check=True, capture_output=True, text=True,
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        rates = ", ".join(f"{rate:,.0f}" for rate in figures["samples_per_s"])
        print(
            f"{name}, {layout} (batching={figures['batching']}): {rates} samples/s per epoch; "
            f"fit {figures['fit_s']:.1f} s "
            f"({figures['precision']}, {figures['threads']} threads); "
            f"peak {figures['peak_gib']:.2f} GiB; "
            f"predict 1000 rows {figures['predict_s']:.2f} s; {load()}",
            flush=True,
        )
    if args.accuracy:
        accuracy(data_file(args.data))


if __name__ == "__main__":
    main()
