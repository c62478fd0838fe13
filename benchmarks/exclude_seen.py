"""What ``exclude_seen=True`` does to Recall@20 and MRR@20 under the published protocol.

    python benchmarks/exclude_seen.py                       # Item-KNN, V-SKNN, VASER
    python benchmarks/exclude_seen.py --models itemknn,sknn

Each model is fitted once on YOOCHOOSE 1/64 (defaults, ``random_state=0``) and every test prefix
is ranked twice, with the prefix's own items allowed and kept out, so the two rows of a model
differ only by the filter (a paired comparison). The share of test targets that repeat an item
of their prefix is printed first: those are the hits ``exclude_seen`` gives up.
"""

import argparse
import time

from _data import DATA_HELP, data_file
from _machine import describe, load

from skvaser import (
    ItemKNNRecommender,
    SessionKNNRecommender,
    VASERRecommender,
    mrr_at_k,
    recall_at_k,
    sessions_to_prefixes,
)
from skvaser.evaluation import load_train_test

MODELS = {
    "itemknn": ItemKNNRecommender,
    "sknn": SessionKNNRecommender,
    "vaser": lambda: VASERRecommender(random_state=0),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--models", default="itemknn,sknn,vaser")
    args = parser.parse_args(argv)
    print(describe(), flush=True)
    train, test, _ = load_train_test(data_file(args.data))
    X, y, _ = sessions_to_prefixes(*train, max_len=30)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=30)
    repeats = (X_test == y_test[:, None]).any(axis=1).mean()
    print(f"{len(X)} training prefixes, {len(X_test)} test prefixes; {100 * repeats:.2f} % of "
          "test targets repeat an item of their prefix", flush=True)
    print("model     exclude_seen  Recall@20  MRR@20   fit s  predict s")
    for name in args.models.split(","):
        model = MODELS[name]().set_params(handle_unknown="ignore")
        start = time.perf_counter()
        model.fit(X, y)
        fit_seconds = time.perf_counter() - start
        for exclude in (False, True):
            start = time.perf_counter()
            ranked = model.set_params(exclude_seen=exclude).predict(X_test)
            seconds = time.perf_counter() - start
            print(f"{name:9s} {exclude!s:12s} {100 * recall_at_k(y_test, ranked):9.2f} "
                  f"{100 * mrr_at_k(y_test, ranked):7.2f} {fit_seconds:7.0f} {seconds:9.1f}"
                  f"   ({load()})", flush=True)


if __name__ == "__main__":
    main()
