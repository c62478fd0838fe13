"""skvaser._progress: a bar on a terminal, plain lines elsewhere, the items passed through."""

import io
import sys

import pytest

from skvaser._progress import PLAIN_LINES, progress


def _line(done, elapsed, left):
    return f"{done} done, {left:.0f} s left"


@pytest.mark.parametrize("n_items, size", [(3, 1), (25, 1), (100, 1), (40, 7)])
def test_plain_lines_off_a_terminal(capsys, n_items, size):
    items = list(range(n_items))
    total = n_items * size
    passed = list(progress(iter(items), total=total, title="t", unit="u", line=_line,
                           size=lambda item: size))
    assert passed == items
    lines = capsys.readouterr().out.splitlines()
    done = [int(line.split()[0]) for line in lines]
    assert done == sorted(set(done)) and all(0 < d < total for d in done)  # never at the end
    assert len(lines) <= PLAIN_LINES - 1
    if n_items >= PLAIN_LINES:
        assert len(lines) >= PLAIN_LINES // 2


def test_a_bar_on_a_terminal(monkeypatch):
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr(sys, "stdout", terminal)
    assert list(progress(range(50), total=50, title="Ranking", unit="row", line=_line)) == list(
        range(50))
    out = terminal.getvalue()
    assert "Ranking" in out and "\r" in out and "done" not in out
