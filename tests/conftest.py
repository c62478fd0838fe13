"""Shared test helpers: the real benchmark data in ``../shared/data`` beside the repository.

Tests that read it either take the ``shared_data`` fixture (the folder's path) or carry the
``requires_shared_data`` marker (and use ``SHARED_DATA``); both skip cleanly where the folder is
absent, and both are marked ``realdata`` so that ``-m "not realdata"`` deselects them::

    from conftest import SHARED_DATA, requires_shared_data

    @requires_shared_data
    def test_something():
        path = SHARED_DATA / "yoochoose1_64.csv.gz"
"""

from pathlib import Path

import pytest

#: ``../shared/data`` beside the repository: the real data sets (never copied into the repo).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

_REASON = f"the shared data folder {SHARED_DATA} is absent"

#: Marker of tests that read ``SHARED_DATA``: they are skipped where it is absent.
requires_shared_data = pytest.mark.realdata


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects on the markers added here
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
        if item.get_closest_marker("realdata") and not SHARED_DATA.is_dir():
            item.add_marker(pytest.mark.skip(reason=_REASON))


@pytest.fixture
def shared_data():
    """Path of ``../shared/data``; skips the test where the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(_REASON)
    return SHARED_DATA
