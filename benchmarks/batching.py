"""Training speed with ``batching="prefixes"`` and ``batching="sessions"``, side by side.

    python benchmarks/batching.py [--models vaser,narm] [--epochs 1] [--repeats 3]
                                  [--precisions auto float32] [--threads N] [--data PATH]

Fits each model (default parameters, ``random_state=0``) on every training prefix of YOOCHOOSE
1/64 for ``--epochs`` epochs, once with each batching, the two alternated ``--repeats`` times in
this process so that a drifting machine weighs on both alike. Prints each fit's seconds and
training samples per second (rows times epochs over the whole ``fit``: checking, encoding and
batching included), then per model and precision the median of each batching and their ratio.

For the kernels of a CPU without AVX-512 set ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`` in the environment (``_machine.describe``
prints which kernels ran).
"""

import argparse
import itertools
import statistics
import time
from pathlib import Path

import torch
from _machine import describe, load

from skvaser import NARMRecommender, VASERRecommender, sessions_to_prefixes
from skvaser.evaluation import load_train_test

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "yoochoose1_64.csv.gz"
MODELS = {"vaser": VASERRecommender, "narm": NARMRecommender}
BATCHINGS = ("prefixes", "sessions")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="vaser")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["auto"])
    parser.add_argument("--threads", type=int, default=0, help="default: torch's choice")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: pass --data (see ../shared/data/README.md)")
    print(describe(), flush=True)
    train, _, _ = load_train_test(args.data)
    X, y, _ = sessions_to_prefixes(*train)
    print(f"{args.data.name}: {len(X):,} training prefixes, {args.epochs} epoch(s) a fit",
          flush=True)
    rates = {}
    for name, precision in itertools.product(args.models.split(","), args.precisions):
        for repeat, batching in itertools.product(range(args.repeats), BATCHINGS):
            model = MODELS[name](
                max_iter=args.epochs, batching=batching, matmul_precision=precision,
                random_state=0,
            )
            started = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - started
            rate = len(X) * args.epochs / seconds
            rates.setdefault((name, model.matmul_precision_, batching), []).append(rate)
            print(f"{name} {model.matmul_precision_} batching={batching}: fit {seconds:.1f} s, "
                  f"{rate:,.0f} samples/s, loss {model.loss_curve_[-1]:.4f} | {load()}",
                  flush=True)
    print("\nmedians (samples/s):")
    for (name, precision, batching), values in rates.items():
        if batching != "sessions":
            continue
        sessions = statistics.median(values)
        prefixes = statistics.median(rates[name, precision, "prefixes"])
        print(f"{name} {precision}: prefixes {prefixes:,.0f}, sessions {sessions:,.0f}, "
              f"sessions / prefixes {sessions / prefixes:.2f}x")


if __name__ == "__main__":
    main()
