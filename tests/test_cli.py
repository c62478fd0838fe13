"""``python -m skvaser``: the table and its files, logs of any shape, and errors in one line."""

import csv

import numpy as np
import pandas as pd
import pytest

import skvaser.__main__ as cli
from skvaser.__main__ import main
from skvaser.datasets import make_sessions

SMALL = ["--n-sessions", "300", "--n-items", "400", "--random-state", "0"]
DAY = 86_400


def _log(path, *, time_scale=1, columns=("session_id", "item_id", "timestamp"), **extra):
    """A synthetic log of 600 sessions over about ten days, written to ``path``."""
    sessions, items, seconds = make_sessions(600, 80, random_state=0)
    seconds = seconds - seconds.min()
    seconds = seconds * (10 * DAY / seconds.max())
    frame = pd.DataFrame(
        {
            columns[0]: sessions,
            columns[1]: items,
            columns[2]: (seconds * time_scale).astype(np.int64),
            **{name: make(sessions, seconds) for name, make in extra.items()},
        }
    )
    frame.to_csv(path, index=False)
    return path


def _error(capsys, argv):
    """Run ``argv``; return the one line it printed on stderr (exit status 2, no traceback)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("python -m skvaser: error: ")
    return err


def test_table_lists_every_model_and_writes_its_files(tmp_path, capsys):
    table_csv, table_md = tmp_path / "table.csv", tmp_path / "table.md"
    main(["--models", "itemknn,sknn", *SMALL, "--csv", str(table_csv), "--markdown", str(table_md)])
    out = capsys.readouterr().out
    assert "synthetic (300 sessions, 400 items)" in out
    with open(table_csv, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["model", "Recall@20", "MRR@20", "fit s", "predict s"]
    assert [row[0] for row in rows[1:]] == ["itemknn", "sknn"]
    for row in rows[1:]:
        assert 0.0 <= float(row[1]) <= 100.0 and 0.0 <= float(row[2]) <= float(row[1])
        assert f"{row[0]:<10}{row[1]:>10}{row[2]:>10}" in out
    assert table_md.read_text().splitlines()[2].startswith("| itemknn | ")


def test_a_warning_every_model_meets_is_said_once(capsys):
    """The test prefixes hold items unseen in training: each model would warn the same."""
    main(["--models", "itemknn,sknn", *SMALL])
    out = capsys.readouterr().out
    assert out.count("contain items not seen in fit") == 1
    assert "(itemknn, and any model after it) UserWarning: " in out
    assert "handle_unknown" not in out  # a parameter this command does not set


def test_an_unsplit_log_with_its_own_columns_gets_the_last_day_as_test(tmp_path, capsys):
    path = _log(tmp_path / "clicks.tsv.csv", time_scale=1000, columns=("sid", "iid", "ts"))
    argv = [
        "--data",
        str(path),
        "--models",
        "itemknn",
        "--session-col",
        "sid",
        "--item-col",
        "iid",
        "--time-col",
        "ts",
    ]
    main([*argv, "--time-unit", "ms", "--test-days", "2", "-v"])
    captured = capsys.readouterr()
    assert "temporal_split: test: sessions ending after" in captured.out  # -v: the steps
    assert "(the last 2 days)" in captured.out and "[itemknn] fitting" in captured.out
    assert captured.err == ""
    n_test = int(captured.out.split(" test clicks (")[1].split()[0])
    assert 60 < n_test < 240  # about a fifth of the sessions that survive the filters

    main(argv)  # milliseconds read as seconds: the unit is named
    err = capsys.readouterr().err
    assert "warning: temporal_split: the test set holds 1 of 597 sessions" in err
    assert "with --test-days 1; the log spans 10,000.0 days with --time-unit s." in err
    assert "pass their unit: --time-unit ms" in err


def test_a_user_log_is_cut_into_sessions(tmp_path, capsys):
    users, _, _ = make_sessions(600, 80, random_state=0)
    path = _log(
        tmp_path / "events.csv",
        columns=("visitor", "item", "time"),
        event=lambda sessions, seconds: np.where(sessions % 5 == 0, "cart", "view"),
    )
    frame = pd.read_csv(path)
    frame["visitor"] //= 3  # three sessions per user, hours or days apart
    frame.to_csv(path, index=False)
    main(
        [
            "--data",
            str(path),
            "--user-col",
            "visitor",
            "--item-col",
            "item",
            "--time-col",
            "time",
            "--event-col",
            "event",
            "--keep-events",
            "view",
            "--models",
            "itemknn",
            "-v",
        ]
    )
    out = capsys.readouterr().out
    assert "sessionize: events other than ['view']" in out
    assert "sessionize: sessions cut at pauses over 30 min" in out
    assert "itemknn " in out


def test_a_published_split_and_a_fraction(tmp_path, capsys):
    split = lambda sessions, seconds: np.where(seconds > 8 * DAY, "test", "train")  # noqa: E731
    path = _log(tmp_path / "split.csv", split=split)
    main(["--data", str(path), "--models", "itemknn", "--fraction", "1/4", "-v"])
    out = capsys.readouterr().out
    assert "published split in column 'split'" in out
    assert "keep_recent_fraction: the most recent 1/4 of the sessions" in out


def test_rows_of_a_published_split_with_an_empty_cell_are_left_out_with_a_line(tmp_path, capsys):
    def split(sessions, seconds):
        parts = np.where(seconds > 8 * DAY, "test", "train").astype(object)
        parts[:10] = None  # empty cells in the file
        return parts

    main(["--data", str(_log(tmp_path / "split.csv", split=split)), "--models", "itemknn", "-v"])
    assert "10 rows neither 'train' nor 'test' in 'split': left out" in capsys.readouterr().out
    path = str(_log(tmp_path / "split.csv", split=split))
    assert "so --test-days does not apply; pass --split-col none" in _error(
        capsys, ["--data", path, "--test-days", "2"]
    )


def test_raw_yoochoose_sample(shared_data, capsys):
    path = shared_data / "raw" / "yoochoose-clicks-sample.dat"
    main(["--data", str(path), "--models", "itemknn"])
    assert "515 training clicks" in capsys.readouterr().out  # the papers' preprocessing


def test_user_errors_are_one_line(tmp_path, capsys):
    path = _log(tmp_path / "c.csv")
    assert "no-such.csv: No such file" in _error(capsys, ["--data", str(tmp_path / "no-such.csv")])
    err = _error(capsys, ["--data", str(path), "--item-col", "sku"])
    assert "no column for --item-col sku; its columns are session_id, item_id, timestamp" in err
    assert "unknown model(s) 'nope'" in _error(capsys, ["--models", "itemknn,nope"])
    assert "argument --fraction: '2' is not in (0, 1]" in _error(capsys, ["--fraction", "2"])
    assert "--max-len: '0' is not positive" in _error(capsys, ["--max-len", "0"])
    assert "--keep-events filters" in _error(capsys, ["--data", str(path), "--keep-events", "v"])
    err = _error(capsys, ["--data", str(path), "--test-days", "30", "--models", "itemknn"])
    assert "the training set is empty after preprocessing (--test-days 30)" in err
    (tmp_path / "empty.csv").write_text("")
    assert "empty.csv: the file is empty" in _error(capsys, ["--data", str(tmp_path / "empty.csv")])


def test_options_that_would_do_nothing_are_refused(tmp_path, capsys, shared_data):
    path = str(_log(tmp_path / "c.csv"))
    err = _error(capsys, ["--test-days", "3", "--sep", ";"])
    assert "--sep, --test-days: options of a click log; give it with --data" in err
    err = _error(capsys, ["--data", path, "--n-items", "50"])
    assert "--n-items: options of the synthetic sessions, which --data replaces" in err
    raw = str(shared_data / "raw" / "train-item-views-sample.csv")
    err = _error(capsys, ["--data", raw, "--user-col", "user_id", "--models", "itemknn"])
    assert "--user-col: options of a log's columns (--format log); the raw diginetica" in err


def test_bad_options_are_found_before_any_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "evaluate_recommender", None)  # any training would fail otherwise
    assert "--csv " in _error(capsys, ["--csv", str(tmp_path / "no" / "t.csv")])
    assert "its folder does not exist" in _error(capsys, ["--markdown", str(tmp_path / "a/b.md")])
    if not cli.resolve_device("auto").type == "cuda":
        err = _error(capsys, ["--device", "cuda", "--models", "itemknn,narm"])
        assert "--device: device='cuda' was requested but CUDA is not available" in err
    err = _error(capsys, ["--models", ","])
    assert "unknown model(s) none given" in err
    assert "unknown model(s) 'nope'" in _error(capsys, ["--models", "itemknn, nope"])
    assert "argument --sep: '||' is not one character" in _error(capsys, ["--sep", "||"])


def test_models_are_read_with_spaces_and_a_trailing_comma(capsys):
    main(["--models", " itemknn, sknn,", *SMALL])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith((" ", "data", "model"))] == [
        "itemknn", "sknn"]


def test_messages_say_the_options_of_this_command(tmp_path, capsys):
    """The library's parameter names, said as options: a log whose dates are not ISO 8601 is
    read with --time-format; an empty time names --missing-time; a log read with the wrong
    separator names --sep."""
    frame = pd.read_csv(_log(tmp_path / "c.csv"))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s").dt.strftime("%d/%m/%Y %H:%M")
    frame.to_csv(tmp_path / "dates.csv", index=False)
    dates = ["--data", str(tmp_path / "dates.csv"), "--models", "itemknn"]
    assert "pass --time-format ..." in _error(capsys, dates)
    main([*dates, "--time-format", "%d/%m/%Y %H:%M"])
    assert "itemknn " in capsys.readouterr().out
    frame.loc[3, "timestamp"] = None
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    gaps = ["--data", str(tmp_path / "gaps.csv"), "--time-format", "%d/%m/%Y %H:%M"]
    assert "pass --missing-time file_order to order" in _error(capsys, gaps)
    err = _error(capsys, ["--data", str(tmp_path / "c.csv"), "--sep", ";"])
    assert "(one column only: if the file has more, give their separator with --sep)" in err
    (tmp_path / "one.csv").write_text("sessionitemtime\n1\n")
    err = _error(capsys, ["--data", str(tmp_path / "one.csv")])
    assert "could not detect the column separator" in err and err.endswith("pass --sep ...\n")
    assert cli._for_the_shell(
        "Pass the names with session_col=, item_col=, time_col= (and sep= if the separator is "
        "wrong, header=False if the file has no header). Or pass sep=..."
    ) == ("Pass the names with --session-col, --item-col, --time-col (and --sep if the separator "
          "is wrong). Or pass --sep ...")
    views = lambda sessions, seconds: ["view"] * len(sessions)  # noqa: E731
    path = str(_log(tmp_path / "events.csv", event=views))
    err = _error(capsys, ["--data", path, "--user-col", "session_id", "--keep-events", "view"])
    assert "--keep-events keeps clicks by their event type: give --event-col too" in err


def test_verbosity_counts_and_shows_tracebacks(tmp_path, capsys):
    assert cli._parse(["-vv"]).verbose == 2 and cli._parse(["-v"]).verbose == 1
    assert cli._parse(["--sep", "\\t"]).sep == cli._parse(["--sep", "tab"]).sep == "\t"
    with pytest.raises(FileNotFoundError):
        main(["--data", str(tmp_path / "absent.csv"), "-vv"])


def test_neural_models_are_warmed_up_before_their_timing(monkeypatch, capsys):
    warmed = []
    monkeypatch.setattr(cli, "_warm_up", lambda model, train, max_len: warmed.append(model))
    monkeypatch.setattr(cli, "available_models", lambda: ["itemknn", "narm"])
    monkeypatch.setattr(
        cli,
        "evaluate_recommender",
        lambda model, *a, **k: {
            "recall": 0.5,
            "mrr": 0.25,
            "fit_seconds": 1.0,
            "predict_seconds": 1.0,
        },
    )
    main(["--models", "itemknn,narm", *SMALL])
    assert [type(model).__name__ for model in warmed] == ["NARMRecommender"]


def test_warm_up_leaves_the_model_unfitted():
    from skvaser import NARMRecommender
    from skvaser.evaluation import synthetic_train_test

    train, _ = synthetic_train_test(100, 50, random_state=0)
    model = NARMRecommender(random_state=0)
    cli._warm_up(model, train, max_len=10)
    assert not hasattr(model, "items_")


def test_help_reads_like_a_recipe(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--user-col visitorid" in out and "--time-unit ms" in out


def test_vrm_is_the_papers_gaussian_vae():
    """``vrm`` is VASER without flows but with the paper's flow term, not the default beta=0."""
    vrm = cli.build_model("vrm", device="cpu", random_state=0, max_iter=None, verbose=None)
    vaser = cli.build_model("vaser", device="cpu", random_state=0, max_iter=None, verbose=None)
    assert (vrm.n_flows, vrm.beta) == (0, 0.2)
    assert (vaser.n_flows, vaser.beta) == (16, 0.0)
