"""The CUDA check: a full default VASER fit on YOOCHOOSE 1/64, throughput, CPU <-> CUDA pickles.

    python benchmarks/gpu_check.py                   # on a CUDA machine: a few minutes on an H100
    python benchmarks/gpu_check.py --device cpu --n-train-samples 3000 --max-iter 1   # dry run

In order, each step printing its figures as it ends:

1. the machine: torch, CUDA and the card;
2. CUDA training throughput: one epoch of ``VASERRecommender`` (the paper's sizes, batch 512, no
   early stopping) on the training prefixes, and one epoch of the plain reference VASER of
   ``benchmarks/speed.py`` on the same rows, in samples/s; peak CUDA memory of each;
3. the full default fit, ``VASERRecommender(random_state=0, device="cuda")`` on every training
   prefix: seconds (and per epoch, printed by ``verbose``), then top-20 prediction of every
   test prefix: seconds, Recall@20 and MRR@20 beside the paper's 71.85 / 30.05;
4. the pickle round trip: the fitted model is pickled on CUDA and loaded (a) here, where it must
   come back on CUDA and predict exactly the same, and (b) in a subprocess with
   ``CUDA_VISIBLE_DEVICES=""``, where it must load on the CPU with a warning and predict the
   same up to the float rounding of another device: the rows whose top 20 differ at all, those
   whose set of 20 differs, and both Recall@20, are printed.

Exit status 1 when a check fails (a round trip that changes Recall@20 by more than 0.1 point or
a prediction on the same device, a missing warning, a fit over one minute on CUDA is reported,
not failed). ``--device cpu`` with a small ``--n-train-samples`` runs the same code path on the
CPU, to catch errors where no GPU is at hand (the subprocess then simply loads a CPU model).
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

from skvaser import VASERRecommender, sessions_to_prefixes
from skvaser.evaluation import load_train_test
from skvaser.metrics import mrr_at_k, recall_at_k

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (the reference VASER)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "yoochoose1_64.csv.gz"
PAPER = "71.85 / 30.05"

#: Loads the pickled model in a fresh interpreter (no CUDA there) and predicts.
LOAD_ELSEWHERE = """
import json, pickle, sys, warnings
import numpy as np, torch
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with open(sys.argv[1], "rb") as file:
        model = pickle.load(file)
X = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict(X))
print(json.dumps({
    "cuda_available": torch.cuda.is_available(),
    "device_": str(model.device_),
    "warnings": [str(w.message) for w in caught],
}))
"""


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
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-train-samples", type=int, help="default: every training prefix")
    parser.add_argument("--max-iter", type=int, help="cap the full fit's epochs (dry runs)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("CUDA is not available here; use --device cpu with a small --n-train-samples "
                 "for a dry run.")
    failures = []

    # 1. the machine
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        card = (f"{properties.name}, {properties.total_memory / 2**30:.0f} GiB, "
                f"CUDA {torch.version.cuda}")
    else:
        card = f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {card}", flush=True)

    train, test, _ = load_train_test(args.data)
    X, y, _ = sessions_to_prefixes(*train, max_len=speed.WINDOW)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=speed.WINDOW)
    X, y = X[: args.n_train_samples], y[: args.n_train_samples]
    print(f"{Path(args.data).name}: {len(X)} training prefixes, {len(X_test)} test prefixes",
          flush=True)

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

    # 3. the full default fit
    model = VASERRecommender(random_state=0, device=device, verbose=1)
    if args.max_iter:
        model.set_params(max_iter=args.max_iter)
    fit_seconds, peak, _ = timed(device, lambda: model.fit(X, y))
    print(f"full default fit: {fit_seconds:.1f} s, {model.n_iter_} epochs (their seconds above)"
          f"{mib(peak)}" + (" -- over one minute" if device.type == "cuda" and fit_seconds > 60
                            else ""), flush=True)
    predict_seconds, peak, predicted = timed(device, lambda: model.predict(X_test))
    recall, mrr = recall_at_k(y_test, predicted), mrr_at_k(y_test, predicted)
    print(f"predict: {predict_seconds:.2f} s for {len(X_test)} test prefixes{mib(peak)}; "
          f"Recall@20 / MRR@20 {100 * recall:.2f} / {100 * mrr:.2f} (paper: {PAPER})", flush=True)

    # 4. pickle round trips: here (same device), then in a process without CUDA
    blob = pickle.dumps(model)
    again = pickle.loads(blob)
    same = np.array_equal(again.predict(X_test), predicted)
    print(f"pickle ({len(blob) / 2**20:.1f} MiB) loaded here: device_ {again.device_}, "
          f"predictions identical: {same}", flush=True)
    if not same or again.device_ != model.device_:
        failures.append("a pickle loaded on the same device predicts differently")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "model.pkl").write_bytes(blob)
        np.save(folder / "X.npy", X_test)
        path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        environment = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=path)
        done = subprocess.run(
            [sys.executable, "-c", LOAD_ELSEWHERE, str(folder / "model.pkl"), str(folder / "X.npy"),
             str(folder / "predicted.npy")],
            env=environment, capture_output=True, text=True, timeout=900,
        )
        if done.returncode:
            print(done.stderr)
            sys.exit("the model did not load and predict in a process without CUDA")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        elsewhere = np.load(folder / "predicted.npy")
    differ = (elsewhere != predicted).any(axis=1)
    other_set = (np.sort(elsewhere, axis=1) != np.sort(predicted, axis=1)).any(axis=1)
    recall_elsewhere = recall_at_k(y_test, elsewhere)
    print(f"pickle loaded without CUDA: cuda available {report['cuda_available']}, device_ "
          f"{report['device_']}, warnings {report['warnings']}", flush=True)
    print(f"  {differ.sum()} of {len(differ)} rows ranked differently ({other_set.sum()} with "
          f"another set of 20); Recall@20 {100 * recall_elsewhere:.2f} there, {100 * recall:.2f} "
          f"here", flush=True)
    if report["cuda_available"] or report["device_"] != "cpu":
        failures.append("the subprocess saw CUDA or did not load on the CPU")
    if device.type == "cuda" and not any("CUDA" in w for w in report["warnings"]):
        failures.append("no warning when a CUDA model was loaded without CUDA")
    if abs(recall_elsewhere - recall) > 0.001:
        failures.append("Recall@20 changed by more than 0.1 point across devices")

    print("\n" + (f"FAILED: {'; '.join(failures)}" if failures else "all checks passed"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
