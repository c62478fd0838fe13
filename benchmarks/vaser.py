"""VASER beside NARM, VRM (VASER without flows) and the neural baselines on the paper's data.

    python benchmarks/vaser.py                       # YOOCHOOSE 1/64, default parameters
    python benchmarks/vaser.py --data diginetica     # DIGINETICA (--models vaser: one row)
    python benchmarks/vaser.py --variants --validation --max-iter 3   # the open design choices
    python benchmarks/vaser.py --seeds 0 1 2 \
        --models vaser,no_smoothing,paper,vrm,narm_vaser_schedule \
        --log vaser-seeds.jsonl                      # error bars; --summarize re-reads the log
    python benchmarks/vaser.py --validation --seeds 0 1 2 --models vaser \
        --set label_smoothing=0.2 --log candidates.jsonl   # a candidate, named by its --set

Protocol: fit on the ``train`` split, all prefixes of the ``test`` split (window 30), every
training item ranked. Prints Recall@20 / MRR@20 (%), fit and predict seconds, and epochs.
With several ``--seeds`` (``random_state``, which draws the initial weights, the batches and the
dropout), each row is the mean +- the standard deviation over the seeds (``ddof=1``), and each
model's paired difference from VASER (the same seed's VASER minus the model, its mean +- its
standard deviation) shows whether a gap is larger than the spread of a seed. The seeds run one
after another, all models per seed, so an interrupted run leaves whole seeds in ``--log``.
``--validation`` never looks at the test split: it fits on the training sessions but the most
recent 10 % (by first click) and scores all prefixes of those 10 %, which is how the design
choices (``--variants``) are made.
"""

import argparse
import ast
import time

import numpy as np
from _data import DATA_HELP, data_file, validation_split  # benchmarks/ is the script's folder
from _machine import append_record, describe, load, read_records

from skvaser import (
    GRU4RecRecommender,
    NARMRecommender,
    ReLaVaRRecommender,
    STAMPRecommender,
    VASERRecommender,
)
from skvaser.evaluation import evaluate_recommender, load_train_test
from skvaser.models.vaser import PAPER_PARAMS as PAPER

PUBLISHED = {
    "yoochoose1_64": {
        "narm": "68.32 / 28.63 (VASER paper re-run: 70.13 / 29.38)",
        "vrm": "69.32 / 28.75",
        "vaser": "71.85 / 30.05",
        "stamp": "68.74 / 29.67",
        "gru4rec": "60.64 / 22.89",
        "relavar": "64.32 / 25.26",
    },
    "diginetica": {
        "narm": "49.70 / 16.17",
        "vaser": "(SR-GNN: 50.73 / 17.59)",
        "stamp": "45.64 / 14.32",
        "gru4rec": "29.45 / 8.33",
    },
}

#: VASER's training schedule, for NARM trained on the same one.
VASER_SCHEDULE = {
    name: VASERRecommender().get_params()[name]
    for name in ("max_iter", "learning_rate_init", "learning_rate_decay", "context_dropout")
}
#: The schedule, VASER's two training aids and its batches, for NARM trained on VASER's whole
#: recipe.
VASER_RECIPE = {
    name: VASERRecommender().get_params()[name]
    for name in (*VASER_SCHEDULE, "label_smoothing", "ema_decay", "batching")
}

#: Rows of the table, by the key ``--models`` takes: (label, estimator).
MODELS = {
    "vaser": ("VASER", VASERRecommender()),
    "narm": ("NARM", NARMRecommender()),
    "narm_vaser_schedule": ("NARM on VASER's schedule", NARMRecommender(**VASER_SCHEDULE)),
    "narm_vaser_recipe": ("NARM on VASER's recipe (schedule, smoothing, weight average, batches)",
                          NARMRecommender(**VASER_RECIPE)),
    "vrm": ("VRM (n_flows=0, as in the paper)", VASERRecommender(n_flows=0, **PAPER)),
    "paper": ("VASER as in the paper (beta=0.2, no smoothing)", VASERRecommender(**PAPER)),
    "no_smoothing": ("VASER, label_smoothing=0", VASERRecommender(label_smoothing=0.0)),
    "no_ema": ("VASER, ema_decay=0 (the last step's weights)", VASERRecommender(ema_decay=0.0)),
    "prefix_batches": ("VASER, batching='prefixes' (prefixes shuffled across sessions)",
                       VASERRecommender(batching="prefixes")),
    "vaser_sampled": ("VASER, sampled softmax (n_negatives=2048)",
                      VASERRecommender(n_negatives=2048)),
    "stamp": ("STAMP (defaults)", STAMPRecommender()),
    "gru4rec": ("GRU4Rec (defaults: full softmax, cross-entropy)", GRU4RecRecommender()),
    "relavar": ("ReLaVaR (defaults)", ReLaVaRRecommender()),
}
VARIANTS = {
    "default": ("z from h_t, decode [z_K; c_l] (default)", VASERRecommender()),
    "latent": ("z from h_t, decode z_K", VASERRecommender(decoder="latent")),
    "session_latent": (
        "z from [h_t; c_l], decode z_K",
        VASERRecommender(latent_source="session", decoder="latent"),
    ),
    "session": ("z from [h_t; c_l], decode [z_K; c_l]", VASERRecommender(latent_source="session")),
    "shared_flows": ("shared (not amortised) flows", VASERRecommender(amortized_flows=False)),
    "no_flows": ("no flows, K = 0", VASERRecommender(n_flows=0)),
    "paper": ("the paper's beta = 0.2, no smoothing", VASERRecommender(**PAPER)),
    "narm": ("NARM (no latent)", NARMRecommender()),
}


def published_figures(run):
    """The published Recall@20 / MRR@20 of ``run``'s model on its data ("" on validation data)."""
    if run["validation"]:
        return ""
    return PUBLISHED.get(run["data"].split(".")[0], {}).get(run["name"], "")


def summarize(runs):
    """Markdown rows from ``runs`` (dicts with ``name``, ``label``, ``seed``, ``data``,
    ``validation``, ``recall``, ``mrr``, ``fit_seconds``, ``predict_seconds``, ``epochs``): one
    row per model, mean +- sd over seeds."""
    by_name = {}
    for run in runs:
        by_name.setdefault(run["name"], {})[run["seed"]] = run
    reference = by_name.get("vaser", {})

    def spread(values):
        values = 100 * np.asarray(values)
        if len(values) == 1:
            return f"{values[0]:.2f}"
        return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"

    rows = []
    for name, seeds in by_name.items():
        done = [seeds[seed] for seed in sorted(seeds)]
        paired = sorted(set(seeds) & set(reference)) if name != "vaser" else []
        difference = " / ".join(
            spread([reference[seed][metric] - seeds[seed][metric] for seed in paired])
            for metric in ("recall", "mrr")
        ) if paired else ""
        rows.append(
            f"| {done[0]['label']} | {spread([run['recall'] for run in done])} / "
            f"{spread([run['mrr'] for run in done])} | {difference} | "
            f"{','.join(str(seed) for seed in sorted(seeds))} | "
            f"{np.median([run['fit_seconds'] for run in done]):.0f} | "
            f"{np.median([run['predict_seconds'] for run in done]):.1f} | "
            f"{done[0]['epochs']} | {published_figures(done[0])} |"
        )
    return "\n".join([
        "| model | Recall@20 / MRR@20 (%) | VASER − model (paired) | seeds | fit s (median) "
        "| predict s | epochs | published |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])


def parameter(text):
    """``"name=value"`` -> ``(name, value)``, the value a Python literal or else a string."""
    name, separator, value = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"expected PARAM=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--variants", action="store_true", help="compare the decoder variants")
    parser.add_argument(
        "--validation", action="store_true",
        help="score on the most recent 10 %% of the training sessions instead of the test split",
    )
    parser.add_argument("--max-iter", type=int, help="cap the epochs (for quick comparisons)")
    parser.add_argument(
        "--models",
        help="comma-separated subset of the rows: "
        f"{', '.join(MODELS)}; with --variants {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--set", type=parameter, nargs="+", default=[], metavar="PARAM=VALUE",
        help="parameters set on every row's estimator; the rows' names record them",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="random_state values")
    parser.add_argument("--log", help="append each fit's figures to this JSON-lines file")
    parser.add_argument(
        "--summarize", metavar="LOG", help="only print the table of the fits in a --log file",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()

    if args.summarize:
        print(summarize(read_records(args.summarize)))
        return
    path = data_file(args.data)

    table = VARIANTS if args.variants else MODELS
    names = args.models.split(",") if args.models else list(table)
    unknown = sorted(set(names) - set(table))
    if unknown:
        parser.error(f"unknown --models {unknown}; choose from {', '.join(table)}")
    print(describe(), flush=True)
    started = time.perf_counter()
    train, test, _ = load_train_test(path)
    print(f"{path.name}: loaded in {time.perf_counter() - started:.1f} s")
    if args.validation:
        train, test = validation_split(train)

    overrides = dict(args.set)
    if args.max_iter:
        overrides["max_iter"] = args.max_iter
    suffix = ", ".join(f"{key}={value!r}" for key, value in args.set)
    runs = []
    for seed in args.seeds:
        for name in names:
            label, model = table[name]
            model.set_params(
                random_state=seed, device=args.device, verbose=args.verbose, **overrides
            )
            if suffix:
                name, label = f"{name} [{suffix}]", f"{label} [{suffix}]"
            result = evaluate_recommender(model, train, test, max_len=30)
            run = {
                "name": name, "label": label, "seed": seed, "data": path.name,
                "validation": args.validation, "recall": result["recall"], "mrr": result["mrr"],
                "fit_seconds": result["fit_seconds"],
                "predict_seconds": result["predict_seconds"],
                "epochs": result["model"].n_iter_, "load": load(),
            }
            runs.append(run)
            print(f"seed {seed} | {label} | {100 * run['recall']:.2f} / {100 * run['mrr']:.2f} | "
                  f"fit {run['fit_seconds']:.0f} s | predict {run['predict_seconds']:.1f} s | "
                  f"{run['epochs']} epochs | {run['load']}", flush=True)
            if args.log:
                append_record(args.log, run)
    scored = "validation (most recent 10 % of train)" if args.validation else "test"
    print(f"\n{path.name}, {scored} prefixes, device {result['model'].device_}")
    print(summarize(runs))


if __name__ == "__main__":
    main()
