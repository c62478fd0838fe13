"""How fit and predict cost grow with the catalogue and the data: time and peak memory.

    python benchmarks/scale.py            # 10^4 -> 10^6 items, about 10 minutes on 2 CPU cores
    python benchmarks/scale.py --quick    # 10^3 -> 10^4 items, about a minute
    python benchmarks/scale.py --models itemknn narm
    python benchmarks/scale.py --sweeps paper --models narm vaser --threads 2
    python benchmarks/scale.py --sweeps paper --models narm vaser --threads 2 --items 10000 100000

Every measurement runs in fresh subprocesses (``fit`` in one, ranking and ``predict`` of the
saved model in another) on synthetic data (uniformly drawn clicks, every
item of the catalogue clicked at least once in training) and reports

- ``fit s`` / ``pred s``: CPU seconds of ``fit`` and of ``predict`` (one thread: on an idle
  machine they equal wall-clock seconds; on a busy one they do not count the waiting, which
  ``wall/cpu`` -- wall-clock over CPU seconds of the measured phases -- shows);
- ``fit MiB`` / ``pred MiB``: the rise of the peak resident memory (VmHWM, reset through
  ``/proc/self/clear_refs`` after ``malloc_trim`` before each phase; ``ru_maxrss`` where that is
  not possible) over the memory held before the phase -- what the phase needed beyond its
  inputs and the model -- measured in separate runs with glibc's mmap threshold fixed (see
  ``EXACT_MEMORY``). ``pred MiB`` includes checking and encoding ``X`` (a few int64 copies
  of it, ``8 * n_samples * max_len`` bytes each) and the result;
- ``rank MiB``: the same for ranking alone (``_rank`` on the encoded prefixes, their padding
  trimmed to the 10 columns that can hold clicks), the part that depends on the catalogue:
  this is what the memory bound is about;
- ``np MiB``: the peak of NumPy allocations during ``predict`` (``tracemalloc``; PyTorch's CPU
  tensors are not traced);
- ``rows/s``: training rows per wall-clock second of the (one) epoch, as the trainer times it.

Three sweeps (``--sweeps``) per model:

- **items**: the catalogue grows 10^4 -> 10^6 at a fixed amount of training data, and
  ``predict`` ranks the whole catalogue (top 20) for the same 10,000 prefixes of 1-10 clicks.
  Item-KNN trains on about 10^6 clicks of short sessions. The neural models train one epoch on
  1,000 rows, as wide as needed for every item to be clicked (``ceil(n_items / 1000)``
  clicks): their full softmax costs ``rows * n_items * dim``, so more rows would only
  multiply the time.
- **samples**: the training data grows 10x per step over a catalogue of 10^4 items, and
  ``predict`` ranks as many prefixes as were trained on.
- **paper**: the neural models at the paper's sizes (embedding 50, hidden 100; VASER with
  latent 100 and 16 flows; batch 512), the catalogue growing 10^4 -> 10^6 items, each with the
  full softmax and with the sampled one (``n_negatives=2048``, rows marked ``+neg``). One epoch
  on ``PAPER_ROWS`` rows of 30 clicks (every item clicked at least once), so ``rows/s`` is
  what a user's epoch costs per training prefix at that catalogue; ``predict`` as in **items**.
  Item-KNN has no such sizes and is left out.

Under each table the growth exponent ``b`` of ``cost ~ n^b`` is fitted by least squares on
log-log axes: ``b = 1`` is linear growth, ``b = 0`` constant. The neural models are tiny
(embedding and hidden size 8, VASER with latent 8 and 2 flows) so the scoring, not the network,
dominates; the ranking of neural models is bounded by ``SCORE_CELLS`` (see
:meth:`skvaser.models.neural.NeuralRecommender._rank`) and Item-KNN's by its sparse blocks.
"""

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
from _machine import describe, load

MODELS = ("itemknn", "narm", "vaser")
SWEEPS = ("items", "samples", "paper")
NEURAL = dict(
    embedding_dim=8, hidden_size=8, max_iter=1, batch_size=64, early_stopping=False,
    device="cpu", random_state=0,
)
PARAMS = {
    "itemknn": {},
    "narm": NEURAL,
    "vaser": dict(NEURAL, latent_dim=8, n_flows=2),
}
PAPER = dict(max_iter=1, batch_size=512, early_stopping=False, device="cpu", random_state=0)
#: The paper sweep's rows, by model: the estimators' defaults are the paper's sizes.
PAPER_PARAMS = {
    "narm": PAPER,
    "narm+neg": dict(PAPER, n_negatives=2048),
    "vaser": PAPER,
    "vaser+neg": dict(PAPER, n_negatives=2048),
}
PREFIX_CLICKS = 10  # predicted prefixes hold 1-10 clicks
NEURAL_FIT_ROWS = 1000
PAPER_ROWS = 32_768  # 64 batches of 512; 10^6 clicks, enough to click 10^6 items


# ---------------------------------------------------------------------- synthetic data
def prefixes(n_items, n_rows, width, rng, *, full=False):
    """(X, y): ``n_rows`` left-padded prefixes of ``width`` and their next clicks.

    Prefixes hold 1..width clicks (``width`` each when ``full``). Clicks are uniform over the
    catalogue, and every item occurs at least once where there are at least ``n_items`` clicks.
    """
    lengths = np.full(n_rows, width) if full else rng.integers(1, width + 1, n_rows)
    mask = np.arange(width)[None, :] >= width - lengths[:, None]
    n_clicks = int(mask.sum()) + n_rows
    pool = rng.integers(0, n_items, n_clicks)
    pool[: min(n_items, n_clicks)] = rng.permutation(n_items)[:n_clicks]
    pool = rng.permutation(pool)
    X = np.full((n_rows, width), -1, dtype=np.int64)
    X[mask] = pool[: mask.sum()]
    return X, pool[mask.sum() :]


def training_data(model, sweep, n, rng):
    """Training (X, y) of one configuration; ``n`` is the catalogue (items) or the rows."""
    if sweep == "paper":
        return prefixes(n, PAPER_ROWS, 30, rng, full=True)
    if sweep == "items":
        if model == "itemknn":  # about 10^6 clicks of sessions of 1-10 clicks
            return prefixes(n, 180_000, PREFIX_CLICKS, rng)
        width = -(-n // NEURAL_FIT_ROWS)
        return prefixes(n, NEURAL_FIT_ROWS, width, rng, full=True)
    return prefixes(10_000, n, PREFIX_CLICKS, rng)


# ---------------------------------------------------------------------- one measurement
def _memory_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak():
    """Return freed memory to the system and reset the peak resident memory.

    Returns False where the kernel does not allow the reset.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # so that reused free memory does not hide peaks
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def _peak_kib():
    try:
        return _memory_kib("VmHWM")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_kib():
    try:
        return _memory_kib("VmRSS")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


_WALL = {}
THREADS = {"n": 1}  # the children's OMP_NUM_THREADS (``--threads``)


def _phase(function):
    """Run ``function()``; return (its result, CPU seconds, rise of the peak memory in KiB).

    The wall-clock seconds of the phases add up in ``_WALL["seconds"]``.
    """
    _reset_peak()
    before = _current_kib()
    wall, started = time.perf_counter(), time.process_time()
    result = function()
    seconds = time.process_time() - started
    _WALL["seconds"] = _WALL.get("seconds", 0.0) + time.perf_counter() - wall
    return result, seconds, _peak_kib() - before


def measure_fit(model, sweep, n, n_predict, folder):
    """Fit once and save the model and the prefixes to predict in ``folder`` (first child)."""
    import joblib

    from skvaser import ItemKNNRecommender, NARMRecommender, VASERRecommender

    classes = {"itemknn": ItemKNNRecommender, "narm": NARMRecommender, "vaser": VASERRecommender}
    rng = np.random.default_rng(0)
    X, y = training_data(model, sweep, n, rng)
    n_predict = n if sweep == "samples" else n_predict
    X_test, _ = prefixes(int(X.max()) + 1, n_predict, min(PREFIX_CLICKS, X.shape[1]), rng)
    X_test = np.hstack([np.full((n_predict, X.shape[1] - X_test.shape[1]), -1), X_test])
    params = PAPER_PARAMS[model] if sweep == "paper" else PARAMS[model]
    estimator = classes[model.split("+")[0]](**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, fit_seconds, fit_kib = _phase(lambda: estimator.fit(X, y))
    joblib.dump(estimator, os.path.join(folder, "model.joblib"))
    np.save(os.path.join(folder, "X_test.npy"), X_test)
    return {
        "model": model, "sweep": sweep, "n": n, "n_items": int(estimator.n_items_),
        "n_predict": n_predict, "fit_s": fit_seconds, "fit_mib": fit_kib / 1024,
        "wall_s": _WALL["seconds"],
        "train_rate": len(X) / estimator._history.seconds[0] if hasattr(estimator, "_history")
        else float("nan"),
    }


def measure_predict(folder):
    """Rank, then predict, with the saved model in a fresh process (second child).

    A fresh heap: memory freed by ``fit`` and trimmed would otherwise be faulted back in by
    later allocations and counted as theirs.
    """
    import joblib

    estimator = joblib.load(os.path.join(folder, "model.joblib"))
    X_test = np.load(os.path.join(folder, "X_test.npy"))
    codes = estimator._encode(np.ascontiguousarray(X_test[:, -PREFIX_CLICKS:]))
    _, rank_seconds, rank_kib = _phase(
        lambda: estimator._rank(codes, 20, allowed=None, exclude_seen=False)
    )
    tracemalloc.start()
    ranked, predict_seconds, predict_kib = _phase(lambda: estimator.predict(X_test))
    numpy_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert ranked.shape == (len(X_test), 20)
    return {
        "predict_s": predict_seconds, "predict_mib": predict_kib / 1024,
        "rank_mib": rank_kib / 1024, "numpy_mib": numpy_peak / 2**20,
        "wall_s": _WALL["seconds"], "cpu_s": rank_seconds + predict_seconds,
    }


#: glibc's mmap threshold for the runs that measure memory: fixed, so that every large block goes
#: back to the OS when it is freed and the resident peak is the memory in use. With glibc's
#: adaptive default, blocks up to 32 MiB stay in a heap that fragments, and the same run peaks
#: anywhere between 40 and 240 MiB (seen ranking 10^5 items); the fixed threshold makes page
#: faults costlier, so times come from separate runs with the default.
EXACT_MEMORY = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def _run(*arguments, env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS["n"]), **(env or {}))
    command = [sys.executable, os.path.abspath(__file__), "--child", *map(str, arguments)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(model, sweep, n, n_predict):
    """One measurement in fresh interpreters (so peaks do not mix); returns its dict.

    Seconds come from runs with glibc's defaults, memory from runs with ``EXACT_MEMORY``.
    """
    with tempfile.TemporaryDirectory() as folder:
        fitted = _run("fit", model, sweep, n, n_predict, folder)
        fit_memory = _run("fit", model, sweep, n, n_predict, folder, env=EXACT_MEMORY)
        predicted = _run("predict", folder)
        predict_memory = _run("predict", folder, env=EXACT_MEMORY)
    cpu = fitted["fit_s"] + predicted["cpu_s"]
    return {
        **fitted, "fit_mib": fit_memory["fit_mib"], "predict_s": predicted["predict_s"],
        **{key: value for key, value in predict_memory.items() if key.endswith("_mib")},
        "wall_per_cpu": (fitted["wall_s"] + predicted["wall_s"]) / max(cpu, 1e-9),
    }


# ---------------------------------------------------------------------- report
def growth_exponent(sizes, costs):
    """Least-squares slope of log(cost) against log(size); NaN with fewer than 2 points."""
    sizes, costs = np.asarray(sizes, float), np.asarray(costs, float)
    keep = costs > 0
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes[keep]), np.log(costs[keep]), 1)[0])


COLUMNS = [("fit_s", "fit s", "8.2f"), ("fit_mib", "fit MiB", "8.0f"),
           ("predict_s", "pred s", "8.2f"), ("predict_mib", "pred MiB", "8.0f"),
           ("rank_mib", "rank MiB", "8.0f"), ("train_rate", "rows/s", "8.0f"),
           ("numpy_mib", "np MiB", "8.1f"), ("wall_per_cpu", "wall/cpu", "8.1f")]
#: The columns whose growth exponent is printed.
GROWING = ("fit_s", "fit_mib", "predict_s", "predict_mib", "rank_mib", "train_rate")


def report(rows, sweep):
    label = "n_samples" if sweep == "samples" else "n_items"
    header = f"{'model':9s} {label:>9s} {'items':>8s} {'predict':>8s} " + " ".join(
        f"{title:>8s}" for _, title, _ in COLUMNS
    )
    print(f"\n== {sweep}: cost versus {label} ==\n{header}")
    for row in rows:
        print(
            f"{row['model']:9s} {row['n']:9d} {row['n_items']:8d} {row['n_predict']:8d} "
            + " ".join(f"{row[key]:{fmt}}" for key, _, fmt in COLUMNS),
            flush=True,
        )
    print(f"growth exponent b of cost ~ {label}^b:")
    for model in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == model]
        sizes = [row["n"] for row in mine]
        print(
            f"{model:9s} "
            + "  ".join(
                f"{title} {growth_exponent(sizes, [row[key] for row in mine]):5.2f}"
                for key, title, _ in COLUMNS if key in GROWING
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI, a smoke test)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--sweeps", nargs="+", choices=SWEEPS, default=list(SWEEPS))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of every process")
    parser.add_argument("--items", nargs="+", type=int, metavar="N",
                        help="catalogues of the items and paper sweeps (default 10^4 10^5 10^6; "
                        "the full softmax at 10^6 items takes a float32-only CPU over an hour)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    THREADS["n"] = args.threads
    if args.child:
        if args.child[0] == "fit":
            model, sweep, n, n_predict, folder = args.child[1:]
            print(json.dumps(measure_fit(model, sweep, int(n), int(n_predict), folder)))
        else:
            print(json.dumps(measure_predict(args.child[1])))
        return
    if args.quick:
        items, samples, n_predict = [1_000, 10_000], [1_000, 10_000], 1_000
    else:
        items, samples, n_predict = [10_000, 100_000, 1_000_000], [1_000, 10_000, 100_000], 10_000
    items = args.items or items
    print(describe(), flush=True)
    started = time.perf_counter()
    for sweep, sizes in (("items", items), ("samples", samples), ("paper", items)):
        if sweep not in args.sweeps:
            continue
        models = args.models
        if sweep == "paper":
            models = [key for key in PAPER_PARAMS if key.split("+")[0] in args.models]
        rows = []
        for model in models:
            for n in sizes:
                if model == "itemknn" and sweep == "samples":
                    n *= 10  # Item-KNN is cheap per row: 10^4 -> 10^6 rows
                rows.append(run_child(model, sweep, n, n_predict))
        report(rows, sweep)
    print(f"\n({time.perf_counter() - started:.0f} s in all; {args.threads} CPU threads per "
          f"process; {load()})")


if __name__ == "__main__":
    main()
