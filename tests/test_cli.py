"""``python -m skvaser``: the table, its files, and warnings said once."""

import csv

import pytest

from skvaser.__main__ import main

SMALL = ["--n-sessions", "300", "--n-items", "400", "--random-state", "0"]


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
    assert "(itemknn) UserWarning: " in out


def test_unknown_model_is_refused():
    with pytest.raises(SystemExit, match="unknown model"):
        main(["--models", "itemknn,nope", *SMALL])
