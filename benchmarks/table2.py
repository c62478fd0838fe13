"""The paper's Table 2, regenerated: Recall@20 / MRR@20 of every recommender beside the published.

    python benchmarks/table2.py                                  # YOOCHOOSE 1/64, every model
    python benchmarks/table2.py --data diginetica --models itemknn,sknn --out results/
    python benchmarks/table2.py --data yoochoose1_64 diginetica --max-iter 10 --device cuda

Protocol (the published tables'): fit on the ``train`` split, expand every ``test`` session into
all its prefixes (window of 30 clicks), rank every item known from training; Recall@20 and MRR@20
in %. Seconds are wall-clock fit and predict time (loading and prefix expansion excluded), with
the 1-minute load average of the machine when the model finished: on a shared machine, read
them with it.

The models are those of ``python -m skvaser`` (:data:`skvaser.__main__.MODELS`, built by
:func:`skvaser.__main__.build_model` with the library's defaults): ``itemknn``, ``sknn``
(V-SKNN), ``gru4rec``, ``stamp``, ``narm``, ``relavar``, ``vrm`` (VASER without flows,
``beta=0.2``) and ``vaser``; ``--models`` picks a subset. Each finished row is printed and the
table written at once as ``table2_<data>.csv`` and ``table2_<data>.md`` in ``--out`` (default:
the current folder), so a long run keeps the rows it has finished.
"""

import argparse
import csv
import os
import sys
import time
from pathlib import Path

from _data import data_file
from _machine import describe  # benchmarks/ is the script's folder

from skvaser.__main__ import MODELS, available_models, build_model
from skvaser.evaluation import evaluate_recommender, load_train_test

MAX_LEN = 30

#: Row names of the table, by command-line name.
NAMES = {
    "itemknn": "Item-KNN",
    "sknn": "V-SKNN",
    "gru4rec": "GRU4Rec",
    "stamp": "STAMP",
    "narm": "NARM",
    "relavar": "ReLaVaR",
    "vrm": "VRM",
    "vaser": "VASER",
}

#: Published Recall@20, MRR@20 (%): the VASER paper's Table 2 and the SR-GNN paper's DIGINETICA
#: table; V-SKNN as quoted for these sets (Ludewig and Jannach's method, tuned k and sample).
PUBLISHED = {
    "yoochoose1_64": {
        "itemknn": (51.60, 21.81),
        "gru4rec": (60.64, 22.89),
        "narm": (68.32, 28.63),
        "stamp": (68.74, 29.67),
        "relavar": (64.32, 25.26),
        "vrm": (69.32, 28.75),
        "sknn": (69.61, 28.79),
        "vaser": (71.85, 30.05),
    },
    "diginetica": {
        "itemknn": (35.75, 11.57),
        "gru4rec": (29.45, 8.33),
        "narm": (49.70, 16.17),
        "stamp": (45.64, 14.32),
        "sknn": (52.03, 18.41),
    },
}

HEADER = [
    "model",
    "Recall@20",
    "MRR@20",
    "published Recall@20",
    "published MRR@20",
    "Δ Recall@20",
    "Δ MRR@20",
    "fit s",
    "predict s",
    "load avg",
]


def _stem(path):
    return Path(path).name.split(".")[0]


def _row(name, result, published):
    recall, mrr = 100 * result["recall"], 100 * result["mrr"]
    pub_recall, pub_mrr = published if published else (None, None)

    def fmt(value, sign=""):
        return "" if value is None else f"{value:{sign}.2f}"

    return [
        NAMES.get(name, name),
        fmt(recall),
        fmt(mrr),
        fmt(pub_recall),
        fmt(pub_mrr),
        fmt(None if pub_recall is None else recall - pub_recall, "+"),
        fmt(None if pub_mrr is None else mrr - pub_mrr, "+"),
        f"{result['fit_seconds']:.1f}",
        f"{result['predict_seconds']:.1f}",
        f"{os.getloadavg()[0]:.1f}",
    ]


def _write(out, stem, rows, caption):
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"table2_{stem}.csv", "w", newline="") as file:
        csv.writer(file).writerows([HEADER, *rows])
    with open(out / f"table2_{stem}.md", "w") as file:
        file.write(f"{caption}\n\n")
        file.write("| " + " | ".join(HEADER) + " |\n")
        file.write("|" + "---|" + "---:|" * (len(HEADER) - 1) + "\n")
        file.writelines("| " + " | ".join(row) + " |\n" for row in rows)


def _print(row, widths):
    print("  ".join(f"{cell:>{width}}" for cell, width in zip(row, widths)), flush=True)


def run(path, models, args):
    """Fit and score ``models`` on the data at ``path``; print and write the table."""
    stem = _stem(path)
    started = time.perf_counter()
    train, test, report = load_train_test(path)
    for step in report:
        print(f"preprocessing: {step}")
    print(
        f"\n{path.name}: {len(train[0])} training clicks, {len(test[0])} test clicks, "
        f"loaded in {time.perf_counter() - started:.1f} s, {os.cpu_count()} CPUs"
    )
    published = PUBLISHED.get(stem, {})
    widths = [max(len(h), 8) for h in HEADER]
    widths[0] = 9
    _print(HEADER, widths)
    rows = []
    for name in models:
        model = build_model(
            name,
            device=args.device,
            random_state=args.random_state,
            max_iter=args.max_iter,
            verbose=args.verbose,
        )
        result = evaluate_recommender(model, train, test, max_len=args.max_len)
        rows.append(_row(name, result, published.get(name)))
        _print(rows[-1], widths)
        caption = (
            f"{path.name}: {result['n_train']} training prefixes, {result['n_test']} test "
            f"prefixes; Recall@20 / MRR@20 in %, seconds of wall-clock time with the 1-minute "
            f"load average on {os.cpu_count()} CPUs."
        )
        _write(Path(args.out), stem, rows, caption)
    missing = [NAMES[name] for name in published if name not in models]
    if missing:
        print(f"(not run here: {', '.join(missing)})")
    print(f"written: {Path(args.out) / f'table2_{stem}.csv'} and .md")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", nargs="+", default=["yoochoose1_64"], help="files of shared/data by name or path"
    )
    parser.add_argument(
        "--models",
        default="all",
        help=f"comma-separated, or 'all' (default); available: {', '.join(available_models())}",
    )
    parser.add_argument("--out", default=".", help="folder of the CSV and Markdown tables")
    parser.add_argument("--max-len", type=int, default=MAX_LEN, help="prefix window (clicks)")
    parser.add_argument("--max-iter", type=int, default=None, help="epochs of neural models")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("-v", "--verbose", type=int, default=0)
    args = parser.parse_args(argv)

    available = available_models()
    models = available if args.models == "all" else args.models.split(",")
    unknown = [name for name in models if name not in available]
    if unknown:
        known = [name for name in unknown if name in MODELS]
        sys.exit(
            f"unknown model(s) {unknown}"
            + (f" ({known} not provided by this installation)" if known else "")
            + f"; available: {available}"
        )
    print(describe(), flush=True)
    for name in args.data:
        run(data_file(name), models, args)


if __name__ == "__main__":
    main()
