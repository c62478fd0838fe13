"""Model selection on real sessions: GridSearchCV and cross_validate over SessionSplitter."""

import numpy as np
import pytest
from conftest import SHARED_DATA
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline

from skvaser import SCORERS, ItemKNNRecommender, SessionSplitter, sessions_to_prefixes
from skvaser.datasets import load_click_log

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def rsc15():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    log = load_click_log(SHARED_DATA / "rsc15_100k.csv.gz", split_col="split")
    train = log.split == "train"
    return sessions_to_prefixes(
        log.session_ids[train], log.item_ids[train], log.timestamps[train], max_len=30
    )


def test_grid_search_in_a_pipeline_on_rsc15(rsc15):
    X, y, groups = rsc15
    search = GridSearchCV(
        # a later fold clicks items no earlier fold has: skipped, silently
        Pipeline([("rec", ItemKNNRecommender(handle_unknown="ignore"))]),
        {"rec__n_neighbors": [20, 100], "rec__alpha": [0.5, 0.75]},
        scoring=SCORERS,
        refit="recall@20",
        cv=SessionSplitter(n_splits=3),
        n_jobs=2,
    ).fit(X, y, groups=groups)
    results = search.cv_results_
    for name in SCORERS:
        scores = results[f"mean_test_{name}"]
        assert np.all((scores > 0.05) & (scores < 1.0)), (name, scores)
    assert np.all(results["mean_test_mrr@20"] <= results["mean_test_recall@20"])
    assert search.best_estimator_.predict(X[:5]).shape == (5, 20)


def test_cross_validate_on_rsc15_is_time_ordered(rsc15):
    X, y, groups = rsc15
    splitter = SessionSplitter(n_splits=3)
    # the rows are in time order (of their targets): a session starts at its first row
    labels, first_row = np.unique(groups, return_index=True)
    start = dict(zip(labels.tolist(), first_row.tolist()))
    for train, test in splitter.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
        # every training session starts before every test session: no training on the future
        assert max(start[s] for s in set(groups[train].tolist())) < min(
            start[s] for s in set(groups[test].tolist())
        )
    result = cross_validate(
        ItemKNNRecommender(handle_unknown="ignore"), X, y, groups=groups, cv=splitter,
        scoring=SCORERS, n_jobs=2,
    )
    assert len(result["test_recall@20"]) == 3
    assert np.all(result["test_mrr@20"] <= result["test_recall@20"])
