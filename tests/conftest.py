"""Shared test helpers: hypothesis profiles, the real benchmark data in ``../shared/data``, and
a fault injected into training (:func:`interrupt_after`) and scripted validation scores
(:func:`scripted_validation`).

Hypothesis runs under the ``"ci"`` profile where the ``CI`` environment variable is set (CI
services set it; ``.ci/run`` does): derandomized (each test's examples follow from the test
itself, so a red CI is reproduced locally with ``--hypothesis-profile=ci``), no example
database, no deadline. The example budget is the ``max_examples`` that each property test
states in its ``settings`` (100 where it states none). Elsewhere the ``"dev"`` profile draws
new examples on every run (and replays failures from ``.hypothesis/``).

Tests that read it either take the ``shared_data`` fixture (the folder's path) or carry the
``requires_shared_data`` marker (and use ``SHARED_DATA``); both skip cleanly where the folder is
absent, and both are marked ``realdata`` so that ``-m "not realdata"`` deselects them::

    from conftest import SHARED_DATA, requires_shared_data

    @requires_shared_data
    def test_something():
        path = SHARED_DATA / "yoochoose1_64.csv.gz"
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import skvaser.nn.trainer as trainer
from skvaser.nn.batching import PrefixBatches, SessionBatches

#: Examples per property test that states no ``max_examples`` of its own.
DEFAULT_EXAMPLES = 100

settings.register_profile("dev", deadline=None, max_examples=DEFAULT_EXAMPLES)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=DEFAULT_EXAMPLES,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],  # a shared CI machine is slow at times
)
settings.load_profile("ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "dev")

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


def interrupt_after(patch, network_cls, epochs, error=KeyboardInterrupt):
    """Raise ``error`` at the first training batch after ``epochs`` epochs, whichever batches
    (:class:`PrefixBatches` or :class:`SessionBatches`) the fit trains on.

    ``patch`` is a :class:`pytest.MonkeyPatch`; ``network_cls`` the network whose
    ``loss_terms`` raises.
    """
    started = {"epochs": 0}
    real_loss_terms = network_cls.loss_terms

    def counting(real_shuffled):
        def shuffled(self, generator):  # called once per training epoch
            started["epochs"] += 1
            return real_shuffled(self, generator)

        return shuffled

    def loss_terms(self, x, y, generator):
        if started["epochs"] > epochs:
            raise error
        return real_loss_terms(self, x, y, generator)

    for batches in (PrefixBatches, SessionBatches):
        patch.setattr(batches, "shuffled", counting(batches.shuffled))
    patch.setattr(network_cls, "loss_terms", loss_terms)


def scripted_validation(patch, scores):
    """Make the trainer's validation return ``scores`` in turn (Recall@20; MRR@20 0) through
    :class:`pytest.MonkeyPatch` ``patch``; returns the list of the network's weights (cloned
    ``state_dict``) at each evaluation."""
    snapshots = []

    def evaluate(network, batches, k=20):
        snapshots.append({n: t.clone() for n, t in network.state_dict().items()})
        return scores[len(snapshots) - 1], 0.0

    patch.setattr(trainer, "evaluate_network", evaluate)
    return snapshots
