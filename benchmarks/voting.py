"""VASER and V-SKNN voting together (``VotingRecommender``) on the papers' data.

    python benchmarks/voting.py --validation --seeds 0 1 2      # choose the weights
    python benchmarks/voting.py --seeds 0 1 2                   # the test split
    python benchmarks/voting.py --data ../shared/data/diginetica.csv.gz --seeds 0

Per seed, one ``VotingRecommender`` of ``VASERRecommender(random_state=seed)`` and
``SessionKNNRecommender()`` (both with their defaults) is fitted, then scored with each of
``--weights`` (VASER's, V-SKNN's; the weights are read when ranking, so one fit serves them
all). ``1,0`` ranks exactly as VASER alone, ``0,1`` as V-SKNN alone; the first of
``--weights`` is the reference of the paired differences. ``--set`` changes VASER's
parameters. ``--validation`` fits on the training sessions but the most recent 10 % and
scores every prefix of those 10 % (``vaser.py --validation``'s split; the test split is never
read): the weights are chosen there. Without it: the published protocol (fit on ``train``,
every prefix of ``test``, window 30). Recall@20 / MRR@20 in %, mean ± standard deviation over
the seeds, and the paired difference with VASER alone. The fit gets no session ids: V-SKNN
rebuilds the sessions from the rows, as ``sknn.py`` and ``table2.py`` fit it.
"""

import argparse
import time

import numpy as np
from _machine import describe
from itemknn import _validation_split  # benchmarks/ is the script's folder
from vaser import DATA, parameter

from skvaser import (
    SessionKNNRecommender,
    VASERRecommender,
    VotingRecommender,
    mrr_at_k,
    recall_at_k,
    sessions_to_prefixes,
)
from skvaser.evaluation import load_train_test

MAX_LEN = 30
#: VASER's weight and V-SKNN's; the first scores VASER alone, the reference of the differences.
VALIDATION_WEIGHTS = ["1,0", "0,1", "0.8,0.2", "0.75,0.25", "0.7,0.3", "0.6,0.4", "0.5,0.5"]
#: The weights chosen on validation data (``--validation --seeds 0 1 2``), and the members alone.
TEST_WEIGHTS = ["1,0", "0,1", "0.75,0.25"]


def weights(text):
    return tuple(float(value) for value in text.split(","))


def _mean_sd(values):
    values = np.asarray(values)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} ± {sd:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA / "yoochoose1_64.csv.gz"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--weights", type=weights, nargs="+", default=None,
                        metavar="VASER,SKNN")
    parser.add_argument("--set", type=parameter, nargs="+", default=[], metavar="PARAM=VALUE",
                        help="parameters of VASERRecommender")
    args = parser.parse_args()
    grid = args.weights or [
        weights(text) for text in (VALIDATION_WEIGHTS if args.validation else TEST_WEIGHTS)
    ]
    print(describe(), flush=True)
    train, test, _ = load_train_test(args.data)
    if args.validation:
        train, test = _validation_split(train)
    X_train, y_train, _ = sessions_to_prefixes(*train, max_len=MAX_LEN)
    X, y, _ = sessions_to_prefixes(*test, max_len=MAX_LEN)
    scores = {grid_weights: [] for grid_weights in grid}
    for seed in args.seeds:
        model = VotingRecommender(
            estimators=[
                ("vaser", VASERRecommender(random_state=seed, **dict(args.set))),
                ("sknn", SessionKNNRecommender()),
            ],
            handle_unknown="ignore",
        )
        started = time.perf_counter()
        model.fit(X_train, y_train)  # V-SKNN rebuilds the sessions, as in sknn.py
        fit_seconds = time.perf_counter() - started
        for grid_weights in grid:
            started = time.perf_counter()
            ranked = model.set_params(weights=grid_weights).predict(X)
            seconds = time.perf_counter() - started
            result = (100 * recall_at_k(y, ranked), 100 * mrr_at_k(y, ranked))
            scores[grid_weights].append(result)
            print(f"seed {seed} | weights {grid_weights} | {result[0]:.2f} / {result[1]:.2f} | "
                  f"fit {fit_seconds:.0f} s | predict {seconds:.1f} s", flush=True)
    split = "validation (most recent 10 % of train)" if args.validation else "test"
    print(f"\n{args.data.rsplit('/', 1)[-1]}, {split} prefixes, seeds {args.seeds}, {describe()}")
    print("| weights (VASER, V-SKNN) | Recall@20 | MRR@20 | − VASER alone (paired) |")
    print("|---|---|---|---|")
    alone = np.asarray(scores[grid[0]])
    for grid_weights, rows in scores.items():
        rows = np.asarray(rows)
        paired = rows - alone
        print(f"| {grid_weights} | {_mean_sd(rows[:, 0])} | {_mean_sd(rows[:, 1])} | "
              f"{_mean_sd(paired[:, 0])} / {_mean_sd(paired[:, 1])} |")


if __name__ == "__main__":
    main()
