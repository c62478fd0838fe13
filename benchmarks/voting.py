"""VASER and V-SKNN voting together (``VotingRecommender``) on the papers' data.

    python benchmarks/voting.py --validation --seeds 0 1 2      # choose V-SKNN's share
    python benchmarks/voting.py --seeds 0 1 2                   # the test split
    python benchmarks/voting.py --vasers 3                      # votes of 1, 2 and 3 VASERs
    python benchmarks/voting.py --data ../shared/data/diginetica.csv.gz --seeds 0

Per seed, one ``VotingRecommender`` of ``--vasers`` VASERs (``VASERRecommender(random_state=
seed * vasers + j)``) and ``SessionKNNRecommender()`` (all with their defaults) is fitted, then
scored with several weights (read when ranking, so one fit serves them all): for every
non-empty subset of the VASERs and every V-SKNN share ``f`` in ``--shares``, the subset's
VASERs share ``1 - f`` of the weight equally and V-SKNN gets ``f``. ``f = 0`` ranks as the
subset's VASERs alone (one VASER: exactly as ``VASERRecommender``), and V-SKNN alone is scored
too. ``--set`` changes the VASERs' parameters. ``--validation`` fits on the training sessions
but the most recent 10 % and scores every prefix of those 10 % (``vaser.py --validation``'s
split; the test split is never read): the shares are chosen there. Without it: the published
protocol (fit on ``train``, every prefix of ``test``, window 30).

The table gives Recall@20 / MRR@20 in %, mean ± standard deviation over the seeds and the
subsets of equal size (subsets of one fit share VASERs, so their spread understates a spread
over independent fits), and the paired difference with the subset's VASERs scored alone
(their mean). The fit gets no session ids: V-SKNN rebuilds the sessions from the rows, as
``sknn.py`` and ``table2.py`` fit it.
"""

import argparse
import itertools
import time

import numpy as np
from _data import DATA_HELP, data_file, validation_split  # benchmarks/ is the script's folder
from _machine import describe
from vaser import parameter

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
#: V-SKNN's shares of the weight tried on validation data.
VALIDATION_SHARES = [0.2, 0.25, 0.3, 0.4, 0.5]
#: The share chosen there (``--validation --seeds 0 1 2``: ``VotingRecommender``'s 3 : 1).
TEST_SHARES = [0.25]


def _mean_sd(values):
    values = np.asarray(values)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} ± {sd:.2f}"


def _weight_grid(n_vasers, shares):
    """``{(subset, share): weights}``: V-SKNN alone, then each subset alone and with each share."""
    grid = {((), 1.0): (0.0,) * n_vasers + (1.0,)}
    for size in range(1, n_vasers + 1):
        for subset in itertools.combinations(range(n_vasers), size):
            for share in [0.0, *shares]:
                vaser = [(1 - share) / size if j in subset else 0.0 for j in range(n_vasers)]
                grid[subset, share] = (*vaser, share)
    return grid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--vasers", type=int, default=1, help="VASERs in the vote")
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--shares", type=float, nargs="+", default=None,
                        help="V-SKNN's shares of the weight")
    parser.add_argument("--set", type=parameter, nargs="+", default=[], metavar="PARAM=VALUE",
                        help="parameters of VASERRecommender")
    args = parser.parse_args()
    shares = args.shares or (VALIDATION_SHARES if args.validation else TEST_SHARES)
    grid = _weight_grid(args.vasers, shares)
    print(describe(), flush=True)
    path = data_file(args.data)
    train, test, _ = load_train_test(path)
    if args.validation:
        train, test = validation_split(train)
    X_train, y_train, _ = sessions_to_prefixes(*train, max_len=MAX_LEN)
    X, y, _ = sessions_to_prefixes(*test, max_len=MAX_LEN)
    scores = {}  # (seed, subset, share) -> (Recall@20, MRR@20)
    for seed in args.seeds:
        vasers = [
            (f"vaser{j}", VASERRecommender(random_state=seed * args.vasers + j, **dict(args.set)))
            for j in range(args.vasers)
        ]
        model = VotingRecommender(
            estimators=[*vasers, ("sknn", SessionKNNRecommender())], handle_unknown="ignore"
        )
        started = time.perf_counter()
        model.fit(X_train, y_train)  # V-SKNN rebuilds the sessions, as in sknn.py
        fit_seconds = time.perf_counter() - started
        print(f"seed {seed} | fit {fit_seconds:.0f} s", flush=True)
        for (subset, share), weights in grid.items():
            started = time.perf_counter()
            ranked = model.set_params(weights=weights).predict(X)
            seconds = time.perf_counter() - started
            result = (100 * recall_at_k(y, ranked), 100 * mrr_at_k(y, ranked))
            scores[seed, subset, share] = result
            print(f"seed {seed} | VASERs {list(subset)}, V-SKNN share {share:g} | "
                  f"{result[0]:.2f} / {result[1]:.2f} | predict {seconds:.1f} s", flush=True)
    split = "validation (most recent 10 % of train)" if args.validation else "test"
    print(f"\n{path.name}, {split} prefixes, seeds {args.seeds}, "
          f"{args.vasers} VASER(s) per seed, {describe()}")
    print("| VASERs voting | V-SKNN's share | Recall@20 | MRR@20 | − those VASERs alone "
          "(paired) | runs |")
    print("|---|---|---|---|---|---|")
    for size, share in sorted({(len(subset), share) for subset, share in grid}):
        rows, paired = [], []
        for (seed, subset, row_share), result in scores.items():
            if (len(subset), row_share) != (size, share):
                continue
            rows.append(result)
            if size:
                alone = np.mean([scores[seed, (j,), 0.0] for j in subset], axis=0)
                paired.append(np.subtract(result, alone))
        rows, paired = np.asarray(rows), np.asarray(paired)
        difference = (f"{_mean_sd(paired[:, 0])} / {_mean_sd(paired[:, 1])}"
                      if size else "")
        print(f"| {size} | {share:g} | {_mean_sd(rows[:, 0])} | {_mean_sd(rows[:, 1])} | "
              f"{difference} | {len(rows)} |")


if __name__ == "__main__":
    main()
