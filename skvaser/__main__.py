"""``python -m skvaser``: train and evaluate recommenders, print the paper-style table.

By default on the bundled synthetic generator; ``--data PATH`` reads a click log (the
``session_id,item_id,timestamp,split`` benchmark format, or a raw YOOCHOOSE / DIGINETICA file).
"""

import argparse
import csv
import sys
import warnings

import skvaser

from .evaluation import evaluate_recommender, load_train_test, synthetic_train_test

#: Recommenders of the table, by command-line name; neural ones take the shared options.
MODELS = {
    "itemknn": "ItemKNNRecommender",
    "sknn": "SessionKNNRecommender",
    "gru4rec": "GRU4RecRecommender",
    "stamp": "STAMPRecommender",
    "narm": "NARMRecommender",
    "relavar": "ReLaVaRRecommender",
    "vrm": "VASERRecommender",  # n_flows=0: the session-level Gaussian VAE
    "vaser": "VASERRecommender",
}
DEFAULT_MODELS = ("itemknn", "narm", "vaser")


def available_models():
    """Command-line names whose estimator this installation provides."""
    return [name for name, cls in MODELS.items() if hasattr(skvaser, cls)]


def build_model(name, *, device, random_state, max_iter, verbose):
    """The estimator called ``name`` on the command line."""
    cls = getattr(skvaser, MODELS[name])
    params = {}
    names = cls().get_params()
    for key, value in (
        ("device", device),
        ("random_state", random_state),
        ("max_iter", max_iter),
        ("verbose", verbose),
    ):
        if key in names and value is not None:
            params[key] = value
    if name == "vrm":
        params["n_flows"] = 0
    return cls(**params)


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m skvaser",
        description="Train session-based recommenders and print Recall@20 / MRR@20.",
    )
    parser.add_argument("--data", help="click log; default: the synthetic generator")
    parser.add_argument(
        "--format", default="auto", choices=["auto", "split", "yoochoose", "diginetica"]
    )
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated, or 'all'; available: {', '.join(available_models())}",
    )
    parser.add_argument("--max-len", type=int, default=30, help="prefix window (clicks)")
    parser.add_argument("--max-iter", type=int, default=None, help="epochs of neural models")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--n-sessions", type=int, default=6000, help="synthetic sessions")
    parser.add_argument("--n-items", type=int, default=1000, help="synthetic items")
    parser.add_argument("--csv", help="also write the table as CSV here")
    parser.add_argument("--markdown", help="also write the table as Markdown here")
    parser.add_argument("-v", "--verbose", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(argv)
    models = available_models() if args.models == "all" else args.models.split(",")
    unknown = [name for name in models if name not in available_models()]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; available: {available_models()}")

    if args.data:
        train, test, report = load_train_test(args.data, format=args.format)
        source = args.data
        for step in report:
            print(f"preprocessing: {step}")
    else:
        train, test = synthetic_train_test(
            args.n_sessions, args.n_items, random_state=args.random_state
        )
        source = f"synthetic ({args.n_sessions} sessions, {args.n_items} items)"
    print(f"data: {source}: {len(train[0])} training clicks, {len(test[0])} test clicks")

    header = ["model", "Recall@20", "MRR@20", "fit s", "predict s"]
    rows = []
    noted = set()  # every model meets the same test prefixes: say each warning once
    print(f"{header[0]:<10}{header[1]:>10}{header[2]:>10}{header[3]:>10}{header[4]:>11}")
    for name in models:
        model = build_model(
            name,
            device=args.device,
            random_state=args.random_state,
            max_iter=args.max_iter,
            verbose=args.verbose,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = evaluate_recommender(model, train, test, max_len=args.max_len)
        row = [
            name,
            f"{100 * result['recall']:.2f}",
            f"{100 * result['mrr']:.2f}",
            f"{result['fit_seconds']:.1f}",
            f"{result['predict_seconds']:.1f}",
        ]
        rows.append(row)
        print(f"{row[0]:<10}{row[1]:>10}{row[2]:>10}{row[3]:>10}{row[4]:>11}", flush=True)
        for warning in caught:
            message = f"{warning.category.__name__}: {warning.message}"
            if message not in noted:
                noted.add(message)
                print(f"  ({name}) {message}", flush=True)

    if args.csv:
        with open(args.csv, "w", newline="") as file:
            csv.writer(file).writerows([header, *rows])
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            file.writelines("| " + " | ".join(row) + " |\n" for row in rows)


if __name__ == "__main__":
    main()
