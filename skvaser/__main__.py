"""``python -m skvaser``: train and evaluate recommenders on a click log, print the table.

By default on the bundled synthetic generator; ``--data FILE`` reads a click log (any columns,
a user log to cut into sessions, or a raw YOOCHOOSE / DIGINETICA file), splits it by time when
it has no published split, and prints Recall@20 / MRR@20 of each model on the test sessions.
"""

import argparse
import csv
import re
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
from sklearn.base import clone

import skvaser
from skvaser.models.vaser import PAPER_PARAMS

from .datasets import (
    keep_recent_fraction,
    load_click_log,
    load_diginetica_views,
    load_yoochoose_clicks,
    preprocess,
    sessionize,
    sessions_to_prefixes,
)
from .datasets._loaders import _file_columns
from .evaluation import evaluate_recommender, synthetic_train_test
from .models.neural import resolve_device

PROG = "python -m skvaser"

#: Recommenders of the table, by command-line name; neural ones take the shared options.
MODELS = {
    "itemknn": "ItemKNNRecommender",
    "sknn": "SessionKNNRecommender",
    "gru4rec": "GRU4RecRecommender",
    "stamp": "STAMPRecommender",
    "narm": "NARMRecommender",
    "relavar": "ReLaVaRRecommender",
    "vrm": "VASERRecommender",  # n_flows=0, beta=0.2, no smoothing: the paper's VAE
    "vaser": "VASERRecommender",
}
DEFAULT_MODELS = ("itemknn", "narm", "vaser")

#: Test period of the raw formats when --test-days is not given (the papers').
RAW_TEST_DAYS = {"yoochoose": 1, "diginetica": 7}

#: Rows of the untimed warm-up fit of each neural model.
WARM_UP_ROWS = 256

EXAMPLES = """\
examples:
  python -m skvaser
      synthetic sessions; Item-KNN, NARM and VASER

  python -m skvaser --data clicks.csv.gz
      a log with the columns session_id,item_id,timestamp (unix seconds); a column "split"
      (train/test) is used as the split, else the sessions of the last day are the test set

  python -m skvaser --data rsc15.tsv --session-col SessionId --item-col ItemId --time-col Time

  python -m skvaser --data events.csv --user-col visitorid --item-col itemid \\
      --time-unit ms --event-col event --keep-events view --test-days 7
      a user log (RetailRocket): views only, cut into sessions at 30-minute pauses

  python -m skvaser --data yoochoose-clicks.dat --fraction 1/64
      raw YOOCHOOSE: the papers' preprocessing, the most recent 1/64 of training sessions

  python -m skvaser --data train-item-views.csv --models itemknn,narm --max-iter 5 -v
      raw DIGINETICA (the last 7 days are the test set), with progress

With --data, the log goes through the papers' preprocessing unless it has a published split:
sessions of one click and items seen fewer than 5 times are dropped, the sessions ending in the
last --test-days days are the test set, test clicks on items unseen in training are dropped.
If the test set comes out nearly empty, the times are probably not in seconds: pass
--time-unit ms (or us, ns).
"""


class UserError(Exception):
    """A mistake in the command line or the data: said in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{message} (see {PROG} --help)")


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
    if name == "vrm":  # the paper's baseline: no flows, and its flow term (a Gaussian VAE)
        params.update(n_flows=0, **PAPER_PARAMS)
    return cls(**params)


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not positive")
        return value

    parse.__name__ = kind.__name__
    return parse


def _separator(text):
    sep = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(sep) != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not one character (\\t for a tab)")
    return sep


def _fraction(text):
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction such as 1/64") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not in (0, 1]")
    return float(value)


def _parse(argv):
    parser = _Parser(
        prog=PROG,
        description=(
            "Train session-based recommenders on a click log and print Recall@20 and MRR@20\n"
            "on its test sessions (every prefix of every test session, all items ranked)."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("the click log")
    data.add_argument(
        "--data",
        metavar="FILE",
        help="CSV/TSV (plain or compressed) or Parquet; default: synthetic sessions",
    )
    data.add_argument(
        "--format",
        default="auto",
        choices=["auto", "log", "yoochoose", "diginetica"],
        help="log: columns named below; yoochoose, diginetica: the raw files "
        "(auto: from the file name)",
    )
    data.add_argument(
        "--sep",
        type=_separator,
        help="column separator, \\t for a tab (default: detected: comma, tab or ;)",
    )
    data.add_argument(
        "--session-col",
        default="session_id",
        metavar="NAME",
        help="session ids (default: session_id)",
    )
    data.add_argument(
        "--user-col",
        metavar="NAME",
        help="a log without sessions: cut each user's clicks into sessions",
    )
    data.add_argument(
        "--item-col", default="item_id", metavar="NAME", help="item ids (default: item_id)"
    )
    data.add_argument(
        "--time-col",
        default="timestamp",
        metavar="NAME",
        help="click times: numbers or dates (default: timestamp)",
    )
    data.add_argument(
        "--time-unit",
        default="s",
        choices=["s", "ms", "us", "ns"],
        help="unit of numeric times (default: s); dates are read as dates",
    )
    data.add_argument(
        "--time-format",
        metavar="FORMAT",
        help="format of dates that are not ISO 8601, such as %%d/%%m/%%Y %%H:%%M",
    )
    data.add_argument(
        "--missing-time",
        choices=["error", "file_order"],
        help="clicks without a time: refused, or ordered by their row (default: refused, "
        "unless the file has a published split)",
    )
    data.add_argument(
        "--split-col",
        default="split",
        metavar="NAME",
        help="published split (train/test), used when the file has it",
    )
    data.add_argument("--event-col", metavar="NAME", help="event type of each click")
    data.add_argument(
        "--keep-events",
        metavar="TYPE[,TYPE]",
        help="event types to keep, such as view (with --event-col)",
    )
    data.add_argument(
        "--gap",
        type=_positive(float),
        default=30.0,
        metavar="MINUTES",
        help="pause that starts a new session, with --user-col (default: 30)",
    )

    split = parser.add_argument_group("the split")
    split.add_argument(
        "--test-days",
        type=_positive(float),
        metavar="DAYS",
        help="sessions ending in the last DAYS days are the test set (default: "
        "1; raw DIGINETICA: 7)",
    )
    split.add_argument(
        "--fraction",
        type=_fraction,
        metavar="F",
        help="keep the most recent fraction of training sessions, such as 1/64",
    )

    models = parser.add_argument_group("the models")
    models.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated, or 'all'; available: {', '.join(available_models())}",
    )
    models.add_argument("--max-len", type=_positive(int), default=30, help="prefix window (clicks)")
    models.add_argument("--max-iter", type=_positive(int), help="epochs of neural models")
    models.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    models.add_argument(
        "--random-state", type=int, default=0, help="seed of the models and the synthetic data"
    )
    models.add_argument(
        "--n-sessions",
        type=_positive(int),
        default=6000,
        help="synthetic sessions (without --data)",
    )
    models.add_argument(
        "--n-items", type=_positive(int), default=1000, help="synthetic items (without --data)"
    )

    output = parser.add_argument_group("output")
    output.add_argument("--csv", metavar="FILE", help="also write the table as CSV here")
    output.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown here")
    output.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: preprocessing and training progress; -vv: more, and tracebacks of errors",
    )
    return parser.parse_args(argv)


def _format(args):
    if args.format != "auto":
        return args.format
    name = Path(args.data).name.lower()
    if "yoochoose-clicks" in name or name.endswith(".dat"):
        return "yoochoose"
    if "train-item-views" in name:
        return "diginetica"
    return "log"


def _select(log, mask):
    return log.session_ids[mask], log.item_ids[mask], log.timestamps[mask]


def _load(args, say):
    """Training and test clicks of ``--data``, and the lines that say how they were made."""
    kind = _format(args)
    if kind in RAW_TEST_DAYS:
        loader = load_yoochoose_clicks if kind == "yoochoose" else load_diginetica_views
        log, published = loader(args.data), False
        test_days = RAW_TEST_DAYS[kind] if args.test_days is None else args.test_days
    else:
        present = _file_columns(args.data, args.sep)
        published = args.user_col is None and args.split_col in present
        needed = {
            "--user-col" if args.user_col else "--session-col": args.user_col or args.session_col,
            "--item-col": args.item_col,
            "--time-col": args.time_col,
            "--event-col": args.event_col,
        }
        missing = [
            f"{flag} {name}" for flag, name in needed.items() if name and name not in present
        ]
        if missing:
            separator = (
                " (one column only: if the file has more, give their separator with --sep)"
                if len(present) == 1 else ""
            )
            raise UserError(
                f"{args.data} has no column for {', '.join(missing)}; its columns are "
                f"{', '.join(present)}{separator}. Name yours with --session-col (or "
                "--user-col), --item-col, --time-col."
            )
        log = load_click_log(
            args.data,
            session_col=None if args.user_col else args.session_col,
            user_col=args.user_col,
            item_col=args.item_col,
            time_col=args.time_col,
            event_col=args.event_col,
            split_col=args.split_col if published else None,
            sep=args.sep,
            time_unit=args.time_unit,
            time_format=args.time_format,
            missing_time=args.missing_time or ("file_order" if published else "error"),
        )
        test_days = 1 if args.test_days is None else args.test_days
    say(f"read {len(log.item_ids):,} clicks from {args.data}")
    if args.user_col:
        if args.keep_events and not args.event_col:
            raise UserError("--keep-events keeps clicks by their event type: give --event-col too")
        keep = None if args.keep_events is None else args.keep_events.split(",")
        sessions, items, times, report = sessionize(
            log.user_ids,
            log.item_ids,
            log.timestamps,
            gap=60 * args.gap,
            event_types=log.event_types if keep else None,
            keep_events=keep,
        )
        log.session_ids, log.item_ids, log.timestamps = sessions, items, times
        for step in report:
            say(str(step))
    elif args.keep_events:
        raise UserError("--keep-events filters the events of a user log: give --user-col too")

    if published:
        train, test = log.split == "train", log.split == "test"
        if not train.any() or not test.any():
            found = sorted(set(map(str, log.split.tolist())))
            raise UserError(
                f"{args.data}: column {args.split_col!r} has no 'train' and 'test' rows (found "
                f"{found}); pass --split-col with another column to use the standard split."
            )
        if args.test_days is not None:
            raise UserError(
                f"{args.data} has a published split in column {args.split_col!r}, so --test-days "
                "does not apply; pass --split-col none (a column it lacks) to split by time."
            )
        neither = int((~(train | test)).sum())
        if neither:
            say(f"{neither:,} rows neither 'train' nor 'test' in {args.split_col!r}: left out")
        train, test = _select(log, train), _select(log, test)
        say(f"published split in column {args.split_col!r}")
        if args.fraction is not None:
            *train, report = keep_recent_fraction(*train, fraction=args.fraction)
            say(str(report[0]))
        return tuple(train), test
    parts = preprocess(
        log.session_ids, log.item_ids, log.timestamps, test_days=test_days, fraction=args.fraction
    )
    for step in parts.report:
        say(str(step))
    if not len(parts.train[0]) or not len(parts.test[0]):
        empty = "training" if not len(parts.train[0]) else "test"
        raise UserError(
            f"the {empty} set is empty after preprocessing (--test-days {test_days:g}); check "
            "--time-unit, --test-days and --time-col."
        )
    return parts.train, parts.test


def _count(n, noun):
    """``"1 session"``, ``"2 sessions"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _warm_up(model, train, max_len):
    """A small untimed fit and predict, so that the timed ones pay no one-time start-up cost."""
    params = model.get_params()
    X, y, _ = sessions_to_prefixes(*train, max_len=max_len)
    rows = slice(0, WARM_UP_ROWS)
    small = {"max_iter": 1, "verbose": 0}
    if "early_stopping" in params:
        small["early_stopping"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone(model).set_params(**small).fit(X[rows], y[rows]).predict(X[rows])


#: Options that read a click log (``--data``), those that name a log's columns (not the raw
#: formats'), and those of the synthetic data (without ``--data``).
_DATA_OPTIONS = ("format", "test_days", "fraction")
_LOG_OPTIONS = ("sep", "session_col", "user_col", "item_col", "time_col", "time_unit",
                "time_format", "missing_time", "split_col", "event_col", "keep_events", "gap")
_SYNTHETIC_OPTIONS = ("n_sessions", "n_items")


def _check_options_apply(args):
    """Raise for an option set where it has no effect (rather than ignore it)."""
    defaults = vars(_parse([]))
    changed = [name for name in vars(args) if getattr(args, name) != defaults[name]]

    def flags(names):
        return ", ".join("--" + name.replace("_", "-") for name in changed if name in names)

    if not args.data and flags(_DATA_OPTIONS + _LOG_OPTIONS):
        raise UserError(
            f"{flags(_DATA_OPTIONS + _LOG_OPTIONS)}: options of a click log; give it with --data "
            "(without it the sessions are synthetic)"
        )
    if args.data and flags(_SYNTHETIC_OPTIONS):
        raise UserError(f"{flags(_SYNTHETIC_OPTIONS)}: options of the synthetic sessions, which "
                        "--data replaces; leave them out")
    if args.data and _format(args) in RAW_TEST_DAYS and flags(_LOG_OPTIONS):
        raise UserError(
            f"{flags(_LOG_OPTIONS)}: options of a log's columns (--format log); the raw "
            f"{_format(args)} file has columns of its own: leave them out"
        )


def _chosen_models(text):
    """The ``--models`` names, checked."""
    models = available_models() if text == "all" else [n.strip() for n in text.split(",")]
    models = [name for name in models if name]
    unknown = [name for name in models if name not in available_models()]
    if unknown or not models:
        raise UserError(
            f"unknown model(s) {', '.join(map(repr, unknown)) or 'none given'}; available: "
            f"{', '.join(available_models())}"
        )
    return models


def _check_outputs(args, models):
    """Raise now, not after training, for output folders that do not exist and a device that
    is not here."""
    for flag, path in (("--csv", args.csv), ("--markdown", args.markdown)):
        if path and not Path(path).resolve().parent.is_dir():
            raise UserError(f"{flag} {path}: its folder does not exist")
    if any("device" in getattr(skvaser, MODELS[name])().get_params() for name in models):
        try:
            resolve_device(args.device)
        except ValueError as exc:
            raise UserError(f"--device: {exc}") from None


#: The library's parameter names in its messages -> what sets them on the command line.
_SHELL_WORDS = [
    (r"time_unit='(\w+)'", r"--time-unit \1"),
    (r"\btest_days=", "--test-days "),
    (r"\btest_days\b", "--test-days"),
    (r"\btime_format=", "--time-format "),
    (r"missing_time='file_order'", "--missing-time file_order"),
    (r"\bsep= ?", "--sep "),
    (r"\b(session|item|time)_col=", r"--\1-col"),
    (r", header=False if the file has no header", ""),
    (r" Set handle_unknown='ignore' to skip them silently\.", ""),
]


def _for_the_shell(message):
    """``message`` with the library's parameter names said as this command's options."""
    for pattern, words in _SHELL_WORDS:
        message = re.sub(pattern, words, message)
    return message


def _run(args):
    _check_options_apply(args)
    models = _chosen_models(args.models)
    _check_outputs(args, models)

    def say(line):
        if args.verbose:
            print(line, flush=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.data:
            train, test = _load(args, say)
            source = args.data
        else:
            train, test = synthetic_train_test(
                args.n_sessions, args.n_items, random_state=args.random_state
            )
            source = f"synthetic ({args.n_sessions} sessions, {args.n_items} items)"
    for warning in caught:
        print(f"warning: {_for_the_shell(str(warning.message))}", file=sys.stderr, flush=True)
    n_train, n_test = (len(np.unique(part[0])) for part in (train, test))
    print(
        f"data: {source}: {len(train[0])} training clicks ({_count(n_train, 'session')}), "
        f"{len(test[0])} test clicks ({_count(n_test, 'session')})",
        flush=True,
    )

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
        if "max_iter" in model.get_params():
            _warm_up(model, train, args.max_len)
        say(f"[{name}] fitting {type(model).__name__}")
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
            message = f"{warning.category.__name__}: {_for_the_shell(str(warning.message))}"
            if message not in noted:
                noted.add(message)
                print(f"  ({name}, and any model after it) {message}", flush=True)

    if args.csv:
        with open(args.csv, "w", newline="") as file:
            csv.writer(file).writerows([header, *rows])
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            file.writelines("| " + " | ".join(row) + " |\n" for row in rows)


def _one_line(exc):
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None):
    """Run the command line; user errors exit with status 2 and one line on stderr."""
    verbose = 0
    try:
        args = _parse(argv)
        verbose = args.verbose
        _run(args)
    except (UserError, OSError, ValueError, TypeError) as exc:
        if verbose >= 2:
            raise
        print(f"{PROG}: error: {_for_the_shell(_one_line(exc))}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
