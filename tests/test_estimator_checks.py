"""scikit-learn's estimator checks, run on every recommender of skvaser.

To add a recommender, give its class small, fast constructor settings in ``INIT_PARAMS`` (one
line); list any check it fails on purpose, with the reason, in ``EXPECTED_FAILED_CHECKS``.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skvaser import NARMRecommender, VASERRecommender, VotingRecommender
from skvaser.base import BaseRecommender
from skvaser.neighbors import ItemKNNRecommender, SessionKNNRecommender

#: Small, fast constructor settings of each recommender for the test suite.
INIT_PARAMS = {
    ItemKNNRecommender: {"n_neighbors": 20},
    SessionKNNRecommender: {"n_neighbors": 20, "sample_size": 100},
    VASERRecommender: dict(
        embedding_dim=8, hidden_size=8, latent_dim=4, n_flows=2, max_iter=2,
        early_stopping=False, batch_size=32, random_state=0, device="cpu",
    ),
    NARMRecommender: dict(
        embedding_dim=8, hidden_size=8, max_iter=2, early_stopping=False, batch_size=32,
        random_state=0, device="cpu",
    ),
    VotingRecommender: dict(
        estimators=[
            ("item", ItemKNNRecommender(n_neighbors=20)),
            ("sknn", SessionKNNRecommender(n_neighbors=20, sample_size=100)),
        ],
    ),
}

ESTIMATORS = [cls(**params) for cls, params in INIT_PARAMS.items()]

#: Checks that every recommender fails because of the shared data contract (skvaser.base).
RECOMMENDER_FAILED_CHECKS = {
    "check_positive_only_tag_during_fit": (
        "X may hold the negative padding_value, so the positive_only tag stays False; any other "
        "negative value is rejected with a ValueError that names padding_value, not sklearn's "
        "'Negative values in data'."
    ),
}

#: Further checks one estimator class fails on purpose: {class: {check name: reason}}.
EXPECTED_FAILED_CHECKS = {}


def _expected_failed_checks(estimator):
    """Checks that ``estimator`` is known to fail, each with its reason."""
    failed = dict(RECOMMENDER_FAILED_CHECKS) if isinstance(estimator, BaseRecommender) else {}
    failed.update(EXPECTED_FAILED_CHECKS.get(type(estimator), {}))
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
