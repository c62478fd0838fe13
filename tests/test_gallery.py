"""The gallery (``examples/plot_*.py``) runs as the documentation build runs it, and none of its
own calls warns: what an example does is what a reader should do."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")  # the gallery draws; the "test" extra installs it

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


def test_the_gallery_is_found():
    assert len(EXAMPLES) >= 9


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs_without_warnings(script):
    """Each example in a fresh interpreter, in its folder, drawing off screen (as
    sphinx-gallery does); a UserWarning attributed to the example's own lines (the library
    warns at its caller, as ``predict`` does for unknown items) fails it."""
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning:__main__", script.name],
        cwd=script.parent, env=environment, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
