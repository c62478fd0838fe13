"""Small, fast constructor settings of every recommender, for the common test suite.

One place (imbalanced-learn's ``INIT_PARAMS``): a new recommender gets a line here when the
generic fast settings below do not suit it. Settings are keyed by class name so that a model
still being written does not have to be importable for this file to load.
"""

import inspect

import skvaser
from skvaser.base import BaseRecommender

#: Settings of every neural recommender that accepts them: tiny networks, two epochs, no
#: validation split (the suites fit catalogues of a handful of items), on the CPU.
NEURAL_DEFAULTS = dict(
    embedding_dim=8, hidden_size=8, max_iter=2, batch_size=64, early_stopping=False,
    device="cpu",
)

#: Further settings per class name, applied over the defaults.
FAST_PARAMS = {
    # the paper's beta, not the default 0: the tests exercise the flow term
    "VASERRecommender": dict(
        embedding_dim=8, hidden_size=8, latent_dim=4, n_flows=2, beta=0.2, max_iter=2,
        batch_size=64, early_stopping=False, random_state=0,
    ),
    "NARMRecommender": dict(embedding_dim=8, hidden_size=8, max_iter=2, random_state=0),
    "GRU4RecRecommender": dict(embedding_dim=8, hidden_size=8, max_iter=2, random_state=0),
    "STAMPRecommender": dict(embedding_dim=8, max_iter=2, random_state=0),
    "ReLaVaRRecommender": dict(
        embedding_dim=8, hidden_size=8, max_iter=2, beta_annealing_steps=10, random_state=0
    ),
    "ItemKNNRecommender": dict(n_neighbors=20),
}
# a neural member (with VASER's settings above) and a neighbourhood one
FAST_PARAMS["VotingRecommender"] = dict(
    estimators=[
        ("vaser", skvaser.VASERRecommender(
            **FAST_PARAMS["VASERRecommender"], device=NEURAL_DEFAULTS["device"])),
        ("sknn", skvaser.SessionKNNRecommender(n_neighbors=20)),
    ],
)


#: Batch size of the estimators in ``test_vaser.py``: more steps per epoch on its few hundred rows.
SMALL_BATCH = 32

#: A tiny :class:`~skvaser.nn.vaser.VASERNetwork` built directly, without an estimator.
TINY_VASER_NETWORK = dict(
    n_items=7, embedding_dim=5, hidden_size=6, latent_dim=4, n_flows=2, amortized_flows=True,
    latent_source="hidden", decoder="latent_attention", embedding_dropout=0.0,
    context_dropout=0.0,
)

#: Keyword arguments of :func:`~skvaser.nn.trainer.train_network` in ``test_trainer.py`` (with
#: ``max_iter``, the generators and ``verbose``): a constant step size, no regulariser.
TRAINER_SETTINGS = dict(
    learning_rate=1e-2, learning_rate_decay=1.0, beta=0.0, beta_annealing_steps=0,
    n_iter_no_change=5, tol=0.0, ema_decay=0.0,
)


def all_recommenders():
    """The recommender classes exported by :mod:`skvaser` (subclasses of BaseRecommender)."""
    found = []
    for name in skvaser.__all__:
        obj = getattr(skvaser, name)
        if inspect.isclass(obj) and issubclass(obj, BaseRecommender) and obj is not BaseRecommender:
            found.append(obj)
    return found


def fast_params(cls):
    """Small, fast settings of ``cls``: the generic ones it accepts, then ``FAST_PARAMS``.

    A class missing from ``FAST_PARAMS`` gets ``random_state=0`` and the neural defaults where
    it accepts them.
    """
    accepted = cls().get_params()
    params = {key: value for key, value in NEURAL_DEFAULTS.items() if key in accepted}
    if "random_state" in accepted:
        params["random_state"] = 0
    params.update(FAST_PARAMS.get(cls.__name__, {}))
    return params


def make_fast(cls, **overrides):
    """An unfitted ``cls`` with its fast settings and ``overrides``."""
    return cls(**{**fast_params(cls), **overrides})


#: Settings over :func:`fast_params` that train a neural recommender with the sampled softmax
#: on the common suite's catalogue of 30 items (``tests/test_sampled_softmax.py``).
SAMPLED_PARAMS = dict(n_negatives=8, sample_alpha=0.75)
