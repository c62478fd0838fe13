"""Training speed of one parameter's values side by side (by default ``batching``).

    python benchmarks/epoch_speed.py [--vary batching=prefixes,sessions] [--models vaser,narm]
                                     [--epochs 1] [--repeats 3] [--precisions auto float32]
                                     [--threads N] [--data PATH]
    python benchmarks/epoch_speed.py --vary n_flows=16,4,0 --repeats 2

Fits each model (default parameters but the one varied, ``random_state=0``) on every training
prefix of YOOCHOOSE 1/64 for ``--epochs`` epochs, once with each value of ``--vary``, the values
alternated ``--repeats`` times in this process so that a drifting machine weighs on all alike,
after a short untimed fit that pays the kernels' one-time set-up.
Prints each fit's seconds and training samples per second (rows times epochs over the whole
``fit``: checking, encoding and batching included), then per model and precision the median of
each value and its ratio to the first value's.

For the kernels of a CPU without AVX-512 set ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`` in the environment (``_machine.describe``
prints which kernels ran).
"""

import argparse
import itertools
import statistics
import time

import torch
from _data import DATA_HELP, data_file
from _machine import describe, load
from vaser import parameter  # benchmarks/ is the script's folder

from skvaser import NARMRecommender, VASERRecommender, sessions_to_prefixes
from skvaser.evaluation import load_train_test

MODELS = {"vaser": VASERRecommender, "narm": NARMRecommender}


def parameter_values(text):
    """``"name=v1,v2"`` -> ``("name", [v1, v2])``, each value read as ``vaser.py --set`` does."""
    name, separator, values = text.partition("=")
    if not separator or not values:
        raise argparse.ArgumentTypeError(f"expected PARAM=V1,V2,..., got {text!r}")
    return name, [parameter(f"{name}={value}")[1] for value in values.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vary", type=parameter_values, metavar="PARAM=V1,V2,...",
                        default=("batching", ["prefixes", "sessions"]))
    parser.add_argument("--models", default="vaser")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["auto"])
    parser.add_argument("--threads", type=int, default=0, help="default: torch's choice")
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    path = data_file(args.data)
    parameter, values = args.vary
    print(describe(), flush=True)
    train, _, _ = load_train_test(path)
    X, y, _ = sessions_to_prefixes(*train)
    print(f"{path.name}: {len(X):,} training prefixes, {args.epochs} epoch(s) a fit",
          flush=True)
    rates = {}
    for name, precision in itertools.product(args.models.split(","), args.precisions):
        # a first short fit pays the kernels' one-time set-up, which no timed fit should carry
        MODELS[name](max_iter=1, matmul_precision=precision).fit(X[:5000], y[:5000])
        for repeat, value in itertools.product(range(args.repeats), values):
            model = MODELS[name](
                max_iter=args.epochs, matmul_precision=precision, random_state=0,
                **{parameter: value},
            )
            started = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - started
            rate = len(X) * args.epochs / seconds
            rates.setdefault((name, model.matmul_precision_), {}).setdefault(value, []).append(rate)
            print(f"{name} {model.matmul_precision_} {parameter}={value}: fit {seconds:.1f} s, "
                  f"{rate:,.0f} samples/s, loss {model.loss_curve_[-1]:.4f} | {load()}",
                  flush=True)
    print("\nmedians (samples/s):")
    for (name, precision), by_value in rates.items():
        first = statistics.median(by_value[values[0]])
        medians = ", ".join(
            f"{parameter}={value} {statistics.median(by_value[value]):,.0f} "
            f"({statistics.median(by_value[value]) / first:.2f}x)"
            for value in values
        )
        print(f"{name} {precision}: {medians}")


if __name__ == "__main__":
    main()
