"""V-SKNN on the papers' data: its defaults, the paper's setting and how the defaults were chosen.

    python benchmarks/sknn.py                                     # YOOCHOOSE 1/64 and DIGINETICA
    python benchmarks/sknn.py --data ../shared/data/diginetica.csv.gz
    python benchmarks/sknn.py --tune                              # redo the validation search

Protocol as in ``benchmarks/itemknn.py``: fit on the ``train`` split, score every prefix of the
``test`` sessions (window of 30 clicks), Recall@20 and MRR@20 in %, wall-clock seconds. Two rows
per data set: the estimator's defaults and the paper's V-SKNN (linear decay, no match decay, no
IDF boost, 100 neighbours among the 500 most recent candidates). ``--tune`` first runs the
validation search the defaults come from: fit on the training sessions but the most recent
10 %, score on all prefixes of those 10 %; the test split is never looked at. On YOOCHOOSE
1/64 it ends at 300 neighbours among 5,000 candidates (validation 68.75 / 28.75); the defaults
take the cheaper 200 among 2,500 (68.67 / 28.73), the best setting within 0.1 point of it.
"""

import argparse
import itertools
import os
import time

from _data import data_file, validation_split  # benchmarks/ is the script's folder
from _machine import describe

from skvaser.datasets import sessions_to_prefixes
from skvaser.evaluation import evaluate_recommender, load_train_test
from skvaser.metrics import mrr_at_k, recall_at_k
from skvaser.neighbors import SessionKNNRecommender

DEFAULT_DATA = ["yoochoose1_64", "diginetica"]
PUBLISHED = {"yoochoose1_64": (69.61, 28.79), "diginetica": (52.03, 18.41)}
MAX_LEN = 30

PAPER = dict(
    n_neighbors=100, sample_size=500, decay="linear", match_decay="none", idf_weighting=0.0
)

#: The search, in stages: each stage varies some parameters around the best so far.
STAGES = [
    {"decay": ["linear", "harmonic", "none"], "similarity": ["dot", "cosine"]},
    {"n_neighbors": [50, 100, 200, 500], "sample_size": [250, 500, 1000, 2500]},
    {"match_decay": ["none", "harmonic"], "idf_weighting": [0.0, 1.0]},
    {"n_neighbors": [100, 200, 300], "sample_size": [2500, 5000, None]},
]


def tune(train):
    """Staged grid search on the validation split of ``train``; return the best parameters."""
    fit_part, validation = validation_split(train)
    X, y, _ = sessions_to_prefixes(*fit_part, max_len=MAX_LEN)
    X_val, y_val, _ = sessions_to_prefixes(*validation, max_len=MAX_LEN)
    print(f"  validation: fit on {len(X)} prefixes, score on {len(X_val)}")
    best, best_recall = dict(PAPER), -1.0
    for stage in STAGES:
        base = dict(best)
        for values in itertools.product(*stage.values()):
            params = {**base, **dict(zip(stage, values))}
            ranked = SessionKNNRecommender(**params).fit(X, y).predict(X_val)
            recall, mrr = 100 * recall_at_k(y_val, ranked), 100 * mrr_at_k(y_val, ranked)
            print(f"  {_describe(params):78s} {recall:6.2f} {mrr:6.2f}", flush=True)
            if recall > best_recall:
                best, best_recall = params, recall
    print(f"  best: {best}")
    return best


def _describe(params):
    model = SessionKNNRecommender(**params)
    return (
        f"{model.decay}, {model.similarity}, match {model.match_decay}, "
        f"idf {model.idf_weighting:g}, k={model.n_neighbors}, sample={model.sample_size}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", nargs="+", default=DEFAULT_DATA, help="files of shared/data by name or path"
    )
    parser.add_argument("--tune", action="store_true", help="search the parameters on validation")
    args = parser.parse_args()

    print(describe(), flush=True)
    header = f"{'V-SKNN':78s} {'R@20':>6s} {'MRR@20':>6s} {'fit s':>6s} {'pred s':>6s} {'load':>5s}"
    for name in args.data:
        path = data_file(name)
        started = time.perf_counter()
        train, test, _ = load_train_test(path)
        print(f"\n{path.name}: loaded in {time.perf_counter() - started:.1f} s")
        settings = {"defaults": SessionKNNRecommender().get_params(), "paper": PAPER}
        if args.tune:
            settings["tuned"] = tune(train)
        print(header)
        for label, params in settings.items():
            result = evaluate_recommender(SessionKNNRecommender(**params), train, test)
            print(
                f"{label + ': ' + _describe(params):78s} {100 * result['recall']:6.2f} "
                f"{100 * result['mrr']:6.2f} {result['fit_seconds']:6.2f} "
                f"{result['predict_seconds']:6.2f} {os.getloadavg()[0]:5.1f}"
            )
        stem = path.name.split(".")[0]
        if stem in PUBLISHED:
            recall, mrr = PUBLISHED[stem]
            print(f"{'published V-SKNN':78s} {recall:6.2f} {mrr:6.2f}")
        print(f"({result['n_train']} training prefixes, {result['n_test']} test prefixes)")


if __name__ == "__main__":
    main()
