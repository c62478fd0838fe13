"""Item-KNN on the papers' data: Recall@20 / MRR@20 and seconds beside the published figures.

    python benchmarks/itemknn.py                                  # YOOCHOOSE 1/64 and DIGINETICA
    python benchmarks/itemknn.py --data ../shared/data/diginetica.csv.gz
    python benchmarks/itemknn.py --tune                           # redo the validation search
    python benchmarks/itemknn.py --sessions                       # what fit counts as sessions

Protocol (the published tables'): fit on the ``train`` split, expand every ``test`` session into
all its prefixes (window of 30 clicks), rank every item known from training; Recall@20 and MRR@20
in %. Seconds are wall-clock fit and predict time (loading and prefix expansion excluded).

Two rows per data set: the Item-KNN of the tables (last click, alpha 0.5, lambda 20, 100
neighbours: the estimator's defaults) and the setting chosen on validation data (``--tune``: fit
on the training sessions but the most recent 10 %, score on all prefixes of those 10 %, pick the
best Recall@20; the test split is never looked at).

``--sessions`` adds the defaults fitted with ``groups``: the true sessions of the training
prefixes (every click of every session, beyond the window of ``max_len + 1`` clicks that the
sessions rebuilt without ``groups`` keep), and every row counted as a session of its own (a pair
of clicks then counts once per later click of its session).
"""

import argparse
import itertools
import time

import numpy as np
from _data import data_file, validation_split  # benchmarks/ is the script's folder
from _machine import describe

from skvaser.datasets import sessions_to_prefixes
from skvaser.evaluation import evaluate_recommender, load_train_test
from skvaser.metrics import mrr_at_k, recall_at_k
from skvaser.neighbors import ItemKNNRecommender

DEFAULT_DATA = ["yoochoose1_64", "diginetica"]
PUBLISHED = {  # Recall@20, MRR@20 of Item-KNN (SR-GNN paper; VASER paper: 53.12 / 22.13)
    "yoochoose1_64": (51.60, 21.81),
    "diginetica": (35.75, 11.57),
}
MAX_LEN = 30

#: Chosen with ``--tune`` on YOOCHOOSE 1/64's validation split (the same setting wins on
#: DIGINETICA's): Recall@20 / MRR@20 56.89 / 22.72 against 51.59 / 22.37 for the defaults.
TUNED = {"use_all_clicks": True, "decay": "harmonic", "alpha": 0.75, "shrinkage": 5.0}

GRID = {
    "alpha": [0.5, 0.75, 0.9],
    "shrinkage": [5.0, 20.0, 50.0],
    "use_all_clicks": [False, True],
}


def tune(train):
    """Grid search on the validation split of ``train``; return the best parameters."""
    fit_part, validation = validation_split(train)
    X, y, _ = sessions_to_prefixes(*fit_part, max_len=MAX_LEN)
    X_val, y_val, _ = sessions_to_prefixes(*validation, max_len=MAX_LEN)
    print(f"  validation: fit on {len(X)} prefixes, score on {len(X_val)}")
    best, best_recall = None, -1.0
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values), decay="harmonic")
        ranked = ItemKNNRecommender(**params).fit(X, y).predict(X_val)
        recall, mrr = 100 * recall_at_k(y_val, ranked), 100 * mrr_at_k(y_val, ranked)
        print(f"  {_describe(params):52s} {recall:6.2f} {mrr:6.2f}", flush=True)
        if recall > best_recall:
            best, best_recall = params, recall
    print(f"  best: {best}")
    return best


def _print_fits_with_groups(train, test):
    """Print Recall@20 and MRR@20 of the default Item-KNN fitted with the true sessions as
    ``groups``, and with every row a session of its own."""
    X, y, sessions = sessions_to_prefixes(*train, max_len=MAX_LEN)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=MAX_LEN)
    for label, groups in [
        ("defaults, groups: the true sessions", sessions),
        ("defaults, groups: every row a session", np.arange(len(X))),
    ]:
        ranked = ItemKNNRecommender().fit(X, y, groups=groups).predict(X_test)
        print(f"{label:62s} {100 * recall_at_k(y_test, ranked):6.2f} "
              f"{100 * mrr_at_k(y_test, ranked):6.2f}")


def _describe(params):
    model = ItemKNNRecommender(**params)
    clicks = f"all clicks ({model.decay})" if model.use_all_clicks else "last click"
    return f"{clicks}, alpha={model.alpha}, lambda={model.shrinkage:g}, n={model.n_neighbors}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", nargs="+", default=DEFAULT_DATA, help="files of shared/data by name or path"
    )
    parser.add_argument("--tune", action="store_true", help="search the parameters on validation")
    parser.add_argument(
        "--sessions", action="store_true",
        help="also fit the defaults with groups: the true sessions, every row a session",
    )
    args = parser.parse_args()

    print(describe(), flush=True)
    header = f"{'Item-KNN':62s} {'R@20':>6s} {'MRR@20':>6s} {'fit s':>6s} {'pred s':>6s}"
    for name in args.data:
        path = data_file(name)
        started = time.perf_counter()
        train, test, _ = load_train_test(path)
        print(f"\n{path.name}: loaded in {time.perf_counter() - started:.1f} s")
        settings = {"defaults": {}, "tuned": TUNED}
        if args.tune:
            settings["tuned"] = tune(train)
        print(header)
        for label, params in settings.items():
            result = evaluate_recommender(
                ItemKNNRecommender(**params), train, test, max_len=MAX_LEN
            )
            print(
                f"{label + ': ' + _describe(params):62s} {100 * result['recall']:6.2f} "
                f"{100 * result['mrr']:6.2f} {result['fit_seconds']:6.2f} "
                f"{result['predict_seconds']:6.2f}"
            )
        if args.sessions:
            _print_fits_with_groups(train, test)
        stem = path.name.split(".")[0]
        if stem in PUBLISHED:
            recall, mrr = PUBLISHED[stem]
            print(f"{'published (SR-GNN paper)':62s} {recall:6.2f} {mrr:6.2f}")
        print(f"({result['n_train']} training prefixes, {result['n_test']} test prefixes)")


if __name__ == "__main__":
    main()
