"""The CUDA check: every neural model trained and scored on YOOCHOOSE 1/64 on one GPU, with
checks that fail.

    python benchmarks/gpu_check.py                   # on a CUDA machine; under 8 minutes
    python benchmarks/gpu_check.py --data /elsewhere/shared/data
    python benchmarks/gpu_check.py --device cpu --n-train-samples 3000 --max-iter 1   # dry run

The data are found beside the repository (``./shared/data`` or ``../shared/data``, from the
working folder or from the repository root) unless ``--data`` names the folder or the file.
In order, each step printing its figures as it ends:

1. the machine: CPU flags, threads, torch, CUDA and the card;
2. CUDA training throughput: one epoch of ``VASERRecommender`` (the paper's sizes, batch 512, no
   early stopping) on the training prefixes, and one epoch of the plain reference VASER of
   ``benchmarks/speed.py`` on the same rows, in samples/s; peak CUDA memory of each;
3. the five neural models, each fitted with ``random_state=0`` and scored on every test prefix
   (Recall@20 / MRR@20, fit and predict seconds, peak CUDA memory):

   - ``VASERRecommender()``: the full default fit, checked against the mean of three seeds of
     the same fit on a CPU (``EXPECTED``) within ``TOLERANCE_FULL`` points;
   - ``VASERRecommender(n_negatives=2048)``: the sampled softmax, the same schedule, checked
     within 0.5 points of the full softmax's figures of step 3 on this device;
   - NARM, STAMP, GRU4Rec and ReLaVaR with their defaults but ``max_iter=3``: checked against
     the same fits on a CPU (``EXPECTED``, ``random_state=0``) within ``TOLERANCE_SHORT`` points
     (a check that the CUDA path trains, not a seed comparison);

   and each model's ``predict`` run twice must return the same array;
4. the round trip: every fitted model is pickled on CUDA and loaded (a) here, where it must come
   back on CUDA and predict exactly the same, and (b) in a subprocess with
   ``CUDA_VISIBLE_DEVICES=""``, where it must load on the CPU with a warning and predict with a
   Recall@20 within 0.1 point of the CUDA one; the rows whose top 20 differ at all, and those
   whose set of 20 differs, are printed.

Exit status 1 when a check fails; a run over 8 minutes is reported. ``--device cpu`` with a
small ``--n-train-samples`` runs the same code on the CPU to catch errors where no GPU is at hand
(the accuracy checks then print their figures but do not apply; the subprocess simply loads a
CPU model). ``--models`` runs a subset of step 3.
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from skvaser import (
    GRU4RecRecommender,
    NARMRecommender,
    ReLaVaRRecommender,
    STAMPRecommender,
    VASERRecommender,
    sessions_to_prefixes,
)
from skvaser.evaluation import load_train_test
from skvaser.metrics import mrr_at_k, recall_at_k

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (the reference VASER)
from _data import ROOT, data_file  # noqa: E402
from _machine import describe  # noqa: E402

FILE = "yoochoose1_64.csv.gz"
SHORT = {"max_iter": 3}

#: Step 3's fits, by the key ``--models`` takes: (estimator, whose figures it is checked against).
MODELS = {
    "vaser": (VASERRecommender(), "expected"),
    "vaser_sampled": (VASERRecommender(n_negatives=2048), "vaser"),
    "narm": (NARMRecommender(**SHORT), "expected"),
    "stamp": (STAMPRecommender(**SHORT), "expected"),
    "gru4rec": (GRU4RecRecommender(**SHORT), "expected"),
    "relavar": (ReLaVaRRecommender(**SHORT), "expected"),
}
#: Recall@20 / MRR@20 (%) of the same fits on a 2-core AMD EPYC (bfloat16 products for the
#: training softmax; a GPU runs them in float32): VASER's is the mean of random_state 0, 1, 2
#: (the VASERs alone of ``benchmarks/voting.py --vasers 3``, standard deviations 0.07 / 0.04;
#: ``benchmarks/vaser.py --seeds 0 1 2`` on a Xeon gives 71.95 / 31.40), the others' are
#: ``random_state=0`` (this script with ``--device cpu --models narm,stamp,gru4rec,relavar``).
EXPECTED = {
    "vaser": (71.95, 31.39),
    "narm": (68.63, 28.89),
    "stamp": (68.84, 29.92),
    "gru4rec": (68.11, 29.78),
    "relavar": (67.93, 29.61),
}
TOLERANCE_FULL, TOLERANCE_SHORT, TOLERANCE_SAMPLED = 0.6, 1.0, 0.5

#: Loads the pickled models in a fresh interpreter (no CUDA there) and predicts with each.
LOAD_ELSEWHERE = """
import json, pickle, sys, warnings
import numpy as np, torch
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with open(sys.argv[1], "rb") as file:
        models = pickle.load(file)
X = np.load(sys.argv[2])
np.savez(sys.argv[3], **{name: model.predict(X) for name, model in models.items()})
print(json.dumps({
    "cuda_available": torch.cuda.is_available(),
    "devices": sorted({str(model.device_) for model in models.values()}),
    "warnings": [str(w.message) for w in caught],
}))
"""


def find_data(given):
    """The YOOCHOOSE 1/64 file: ``given`` (a file or its folder), else in a shared data folder."""
    path = Path(given or FILE)
    return data_file(path / FILE if path.is_dir() else path)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, function):
    """(seconds, peak MiB of the CUDA allocator or None, result) of ``function()``."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    synchronize(device)
    started = time.perf_counter()
    result = function()
    synchronize(device)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return seconds, peak, result


def mib(peak):
    return "" if peak is None else f", peak {peak:.0f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the shared/data folder or the yoochoose1_64 file")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-train-samples", type=int, help="default: every training prefix")
    parser.add_argument("--max-iter", type=int, help="cap every fit's epochs (dry runs)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of step 3: {', '.join(MODELS)}")
    args = parser.parse_args()
    started = time.perf_counter()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("CUDA is not available here; use --device cpu with a small --n-train-samples "
                 "for a dry run.")
    names = args.models.split(",")
    if unknown := sorted(set(names) - set(MODELS)):
        parser.error(f"unknown --models {unknown}; choose from {', '.join(MODELS)}")
    checked = args.n_train_samples is None and args.max_iter is None
    failures = []

    # 1. the machine
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        card = (f"{properties.name}, {properties.total_memory / 2**30:.0f} GiB, "
                f"CUDA {torch.version.cuda}")
    else:
        card = "no GPU: a dry run on the CPU"
    print(f"{describe()}\n{card}", flush=True)

    data = find_data(args.data)
    train, test, _ = load_train_test(data)
    X, y, _ = sessions_to_prefixes(*train, max_len=speed.WINDOW)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=speed.WINDOW)
    X, y = X[: args.n_train_samples], y[: args.n_train_samples]
    print(f"{data}: {len(X)} training prefixes, {len(X_test)} test prefixes", flush=True)

    # 2. training throughput (after a small fit that starts CUDA, cuBLAS and cuDNN)
    one_epoch = dict(**speed.SIZES, batch_size=speed.BATCH_SIZE, max_iter=1, early_stopping=False,
                     device=device, random_state=0)
    VASERRecommender(**one_epoch).fit(X[:2048], y[:2048])
    speed.reference_fit(X[:2048], y[:2048], device)
    seconds, peak, _ = timed(device, lambda: VASERRecommender(**one_epoch).fit(X, y))
    print(f"training, skvaser:  {len(X) / seconds:8.0f} samples/s ({seconds:.1f} s for one epoch"
          f"{mib(peak)})", flush=True)
    reference_seconds, peak, _ = timed(device, lambda: speed.reference_fit(X, y, device))
    print(f"training, reference: {len(X) / reference_seconds:7.0f} samples/s "
          f"({reference_seconds:.1f} s{mib(peak)}); skvaser / reference "
          f"{reference_seconds / seconds:.2f}x", flush=True)

    # 3. the models
    fitted, predicted, scores = {}, {}, {}
    for name in names:
        estimator, against = MODELS[name]
        model = estimator.set_params(
            random_state=0, device=device, verbose=0, handle_unknown="ignore")
        if args.max_iter:
            model.set_params(max_iter=args.max_iter)
        fit_seconds, fit_peak, _ = timed(device, lambda: model.fit(X, y))
        predict_seconds, _, ranked = timed(device, lambda: model.predict(X_test))
        recall, mrr = 100 * recall_at_k(y_test, ranked), 100 * mrr_at_k(y_test, ranked)
        fitted[name], predicted[name], scores[name] = model, ranked, (recall, mrr)
        expected = EXPECTED[name] if against == "expected" else scores.get(against)
        tolerance = {"vaser": TOLERANCE_FULL, "vaser_sampled": TOLERANCE_SAMPLED}.get(
            name, TOLERANCE_SHORT)
        reference = "" if expected is None else (
            f" (expected {expected[0]:.2f} / {expected[1]:.2f} within {tolerance})")
        print(f"{name}: {model.n_iter_} epochs in {fit_seconds:.1f} s{mib(fit_peak)}, predict "
              f"{predict_seconds:.2f} s; Recall@20 / MRR@20 {recall:.2f} / {mrr:.2f}{reference}",
              flush=True)
        if checked and expected is not None and (
            abs(recall - expected[0]) > tolerance or abs(mrr - expected[1]) > tolerance
        ):
            failures.append(f"{name}'s accuracy is off")
        if not np.array_equal(model.predict(X_test), ranked):
            failures.append(f"{name}'s predict gave another ranking the second time")

    # 4. pickle round trips: here (same device), then in a process without CUDA
    blob = pickle.dumps(fitted)
    for name, again in pickle.loads(blob).items():
        if again.device_ != fitted[name].device_ or not np.array_equal(
            again.predict(X_test), predicted[name]
        ):
            failures.append(f"{name}, pickled and loaded on the same device, predicts differently")
    print(f"pickles ({len(blob) / 2**20:.1f} MiB) loaded here", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "models.pkl").write_bytes(blob)
        np.save(folder / "X.npy", X_test)
        path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        environment = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=path)
        done = subprocess.run(
            [sys.executable, "-c", LOAD_ELSEWHERE, str(folder / "models.pkl"),
             str(folder / "X.npy"), str(folder / "predicted.npz")],
            env=environment, capture_output=True, text=True, timeout=900,
        )
        if done.returncode:
            print(done.stderr)
            sys.exit("the models did not load and predict in a process without CUDA")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        with np.load(folder / "predicted.npz") as elsewhere:
            elsewhere = dict(elsewhere)
    print(f"pickles loaded without CUDA: cuda available {report['cuda_available']}, devices "
          f"{report['devices']}, {len(report['warnings'])} warnings", flush=True)
    for name, ranked in predicted.items():
        differ = (elsewhere[name] != ranked).any(axis=1)
        other_set = (np.sort(elsewhere[name], axis=1) != np.sort(ranked, axis=1)).any(axis=1)
        recall_elsewhere = 100 * recall_at_k(y_test, elsewhere[name])
        print(f"  {name}: {differ.sum()} of {len(differ)} rows ranked differently "
              f"({other_set.sum()} with another set of 20); Recall@20 {recall_elsewhere:.2f} "
              f"there, {scores[name][0]:.2f} here", flush=True)
        if abs(recall_elsewhere - scores[name][0]) > 0.1:
            failures.append(f"{name}'s Recall@20 changed by more than 0.1 point across devices")
    if report["cuda_available"] or report["devices"] != ["cpu"]:
        failures.append("the subprocess saw CUDA or did not load on the CPU")
    n_cuda_warnings = sum("CUDA" in warning for warning in report["warnings"])
    if device.type == "cuda" and n_cuda_warnings < len(fitted):
        failures.append(f"{n_cuda_warnings} warnings for {len(fitted)} CUDA models loaded "
                        "without CUDA")

    minutes = (time.perf_counter() - started) / 60
    print(f"\n{minutes:.1f} minutes" + (" (over 8)" if minutes > 8 else ""))
    print(f"FAILED: {'; '.join(failures)}" if failures else "all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
