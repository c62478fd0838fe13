"""VASER's β × K surface, searched as a user would: successive halving over SessionSplitter.

    python benchmarks/surface.py --log surface.jsonl     # YOOCHOOSE 1/64, the paper's grid
    python benchmarks/surface.py --spread-seeds 0 1 2 --log surface.jsonl   # seeds' spread
    python benchmarks/surface.py --spread-seeds 1 2 --spread-setting 0 32 --spread-epochs 18 \
        --log surface.jsonl                                # a finalist's spread
    python benchmarks/surface.py --summarize surface.jsonl

The paper's grid (β in 0, 0.1, 0.2, 0.5, 1; K in 0, 1, 2, 4, 8, 16, 32: 35 settings) is searched
by :class:`~sklearn.model_selection.HalvingGridSearchCV` with the epochs as its resource
(``max_iter`` 2, 6, 18 for 35, 12, 4 settings) on one :class:`~skvaser.SessionSplitter` fold of the
training split: its test set is the most recent 10 % of the training sessions, the validation
data of ``vaser.py --validation``. The test split is not looked at until the search has chosen:
then the chosen setting is fitted with the default schedule (20 epochs) on the whole training
split and scored on the test split beside the defaults (one row if they are the same).

Every score of the search is appended to ``--log`` as it is computed (setting, epochs, Recall@20,
MRR@20, seconds since the start), so an interrupted search keeps its finished rounds and
``--summarize`` draws the surface as a table. All fits use ``random_state`` ``--seed``: the
search compares single fits. ``--spread-seeds`` measures what a difference must exceed to be
real: it fits the default setting (or ``--spread-setting``) with each of those seeds for each
round's epochs (or ``--spread-epochs``) on the same fold (no search; fits already in ``--log``
are not repeated), and ``--summarize`` gives the mean +- standard deviation of every setting
fitted with several seeds, per epochs.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from _data import DATA_HELP, data_file
from _machine import append_record, describe, load, read_records
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV

from skvaser import SessionSplitter, VASERRecommender, mrr_at_k, recall_at_k, sessions_to_prefixes
from skvaser.evaluation import evaluate_recommender, load_train_test

GRID = {"beta": [0.0, 0.1, 0.2, 0.5, 1.0], "n_flows": [0, 1, 2, 4, 8, 16, 32]}
MAX_LEN = 30


class LoggedScorer:
    """Recall@20 of ``estimator`` on ``(X, y)`` for the search; both metrics to a JSON-lines log."""

    def __init__(self, log, started):
        self.log, self.started = log, started

    def __call__(self, estimator, X, y):
        ranked = estimator.predict(X)
        record = {
            "beta": estimator.beta, "n_flows": estimator.n_flows, "epochs": estimator.n_iter_,
            "seed": estimator.random_state,
            "recall": recall_at_k(y, ranked), "mrr": mrr_at_k(y, ranked),
            "seconds": round(time.perf_counter() - self.started, 1), "load": load(),
        }
        print(f"  beta {record['beta']:<4} K {record['n_flows']:<2} {record['epochs']:>2} epochs | "
              f"{100 * record['recall']:.2f} / {100 * record['mrr']:.2f} | "
              f"{record['seconds']:.0f} s | {record['load']}", flush=True)
        if self.log:
            append_record(self.log, record)
        return record["recall"]


def surface_table(records, seed):
    """Markdown: one row per β, one column per K, each cell the Recall@20 / MRR@20 (%) of the
    longest fit of that setting with ``seed`` and its epochs."""
    last = {}
    for record in (record for record in records if record["seed"] == seed):
        key = (record["beta"], record["n_flows"])
        if key not in last or record["epochs"] >= last[key]["epochs"]:
            last[key] = record
    betas = sorted({beta for beta, _ in last})
    flows = sorted({n_flows for _, n_flows in last})
    rows = [
        "| β \\ K | " + " | ".join(str(k) for k in flows) + " |",
        "|---|" + "---|" * len(flows),
    ]
    for beta in betas:
        cells = []
        for n_flows in flows:
            record = last.get((beta, n_flows))
            cells.append(
                f"{100 * record['recall']:.2f} / {100 * record['mrr']:.2f} ({record['epochs']})"
                if record else ""
            )
        rows.append(f"| {beta} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def spread_table(records):
    """Markdown: Recall@20 / MRR@20 (%), mean +- sd over seeds, of each setting and epochs
    fitted with more than one seed."""
    by_fit = {}
    for record in records:
        key = (record["beta"], record["n_flows"], record["epochs"])
        by_fit.setdefault(key, {})[record["seed"]] = record
    rows = ["| β | K | epochs | seeds | Recall@20 (%) | MRR@20 (%) |", "|---|---|---|---|---|---|"]
    for (beta, n_flows, epochs), seeds in sorted(by_fit.items()):
        if len(seeds) < 2:
            continue
        cells = []
        for metric in ("recall", "mrr"):
            values = 100 * np.array([seeds[seed][metric] for seed in sorted(seeds)])
            cells.append(f"{values.mean():.2f} ± {values.std(ddof=1):.2f}")
        rows.append(f"| {beta} | {n_flows} | {epochs} | {','.join(map(str, sorted(seeds)))} | "
                    f"{' | '.join(cells)} |")
    return "\n".join(rows)


def summary(log, seed):
    """Both tables of the JSON-lines file ``log``, the surface of the fits with ``seed``."""
    records = read_records(log)
    return (
        f"Validation Recall@20 / MRR@20 (%) of the longest fit (epochs) of each setting:\n\n"
        f"{surface_table(records, seed)}\n\nThe settings fitted with several seeds:\n\n"
        f"{spread_table(records)}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--seed", type=int, default=0, help="random_state of every fit")
    parser.add_argument("--min-resources", type=int, default=2, help="epochs of the first round")
    parser.add_argument("--max-resources", type=int, default=20, help="epochs at most")
    parser.add_argument("--factor", type=int, default=3)
    parser.add_argument("--log", help="append every score of the search to this JSON-lines file")
    parser.add_argument(
        "--spread-seeds", type=int, nargs="+",
        help="no search: fit the default setting with these seeds for each round's epochs",
    )
    parser.add_argument(
        "--spread-setting", type=float, nargs=2, metavar=("BETA", "K"),
        help="the setting --spread-seeds fits instead of the default",
    )
    parser.add_argument(
        "--spread-epochs", type=int, nargs="+", help="the epochs --spread-seeds fits (all rounds')"
    )
    parser.add_argument("--summarize", metavar="LOG", help="only print the surface of a --log")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.summarize:
        print(summary(args.summarize, args.seed))
        return

    path = data_file(args.data)
    print(describe(), flush=True)
    started = time.perf_counter()
    train, test, _ = load_train_test(path)
    X, y, groups = sessions_to_prefixes(*train, max_len=MAX_LEN)
    n_validation = round(0.1 * len(np.unique(groups)))
    splitter = SessionSplitter(n_splits=1, test_size=n_validation)
    fold_train, fold_validation = next(splitter.split(X, y, groups))
    print(f"{path.name}: {len(fold_train)} training and {len(fold_validation)} validation "
          f"prefixes ({n_validation} sessions)", flush=True)

    # The validation sessions click items that the fold's training never saw: skipped.
    model = VASERRecommender(random_state=args.seed, device=args.device, handle_unknown="ignore")
    scorer = LoggedScorer(args.log, started)
    if args.spread_seeds:
        if args.spread_setting:
            model.set_params(beta=args.spread_setting[0], n_flows=int(args.spread_setting[1]))
        rounds = [args.min_resources]
        while rounds[-1] * args.factor <= args.max_resources:
            rounds.append(rounds[-1] * args.factor)
        rounds = args.spread_epochs or rounds
        done = {
            (r["seed"], r["epochs"]) for r in read_records(args.log)
            if all(r[name] == model.get_params()[name] for name in GRID)
        } if args.log and Path(args.log).exists() else set()
        for seed in args.spread_seeds:
            for epochs in (epochs for epochs in rounds if (seed, epochs) not in done):
                model.set_params(random_state=seed, max_iter=epochs)
                model.fit(X[fold_train], y[fold_train])
                scorer(model, X[fold_validation], y[fold_validation])
        if args.log:
            print(summary(args.log, args.seed))
        return

    search = HalvingGridSearchCV(
        model,
        GRID, resource="max_iter", min_resources=args.min_resources,
        max_resources=args.max_resources, factor=args.factor,
        scoring=scorer, cv=splitter,
        refit=False, return_train_score=False, error_score="raise",
    )
    search.fit(X, y, groups=groups)
    searched = time.perf_counter() - started
    print(f"\nsearch: {search.n_candidates_} settings for {search.n_resources_} epochs, "
          f"{searched / 60:.1f} min; chosen {search.best_params_} "
          f"(validation Recall@20 {100 * search.best_score_:.2f})")

    chosen = {name: value for name, value in search.best_params_.items() if name in GRID}
    default = VASERRecommender().get_params()
    rows = {"chosen by the search": chosen}
    if any(default[name] != value for name, value in chosen.items()):
        rows["defaults"] = {name: default[name] for name in GRID}
    print("\nFitted on the training split (20 epochs), scored on all test prefixes:")
    for label, params in rows.items():
        model = VASERRecommender(**params, random_state=args.seed, device=args.device)
        result = evaluate_recommender(model, train, test, max_len=MAX_LEN)
        print(f"| {label} | beta {params['beta']}, K {params['n_flows']} | "
              f"{100 * result['recall']:.2f} / {100 * result['mrr']:.2f} | "
              f"fit {result['fit_seconds']:.0f} s | {load()}", flush=True)
    print(f"\nall done in {(time.perf_counter() - started) / 60:.1f} min")
    if args.log:
        print(summary(args.log, args.seed))


if __name__ == "__main__":
    main()
