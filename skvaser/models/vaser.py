"""VASERRecommender: variational session-based recommendation with normalizing flows."""

from numbers import Integral, Real

from .._sklearn import Interval, StrOptions
from ..base import RANKING_PARAMETERS
from ..nn.vaser import VASERNetwork
from ._docstrings import ARCHITECTURE, ATTRIBUTES, BATCHING, TRAINING
from .neural import NeuralRecommender

__all__ = ["VASERRecommender", "PAPER_PARAMS"]

#: The parameters where VASER's defaults depart from the paper's model, at the paper's values:
#: ``VASERRecommender(**PAPER_PARAMS)`` is the paper's VASER, with ``n_flows=0`` its VRM.
PAPER_PARAMS = {"beta": 0.2, "label_smoothing": 0.0, "ema_decay": 0.0, "batching": "prefixes"}

_DEFAULTS = {"max_iter": 20, "learning_rate_init": 0.003, "learning_rate_decay": 0.9,
             "n_iter_no_change": 2, "label_smoothing": 0.1, "ema_decay": 0.999,
             "context_dropout": 0.3, "batching": "sessions"}


class VASERRecommender(NeuralRecommender):
    __doc__ = f"""VASER: a session's latent intent, inferred with planar normalizing flows.

    A GRU with soft attention encodes the prefix (as NARM does). A Gaussian
    ``q(z0|s) = N(mu, diag sigma^2)`` is inferred from the encoding, ``z0`` is pushed through
    ``n_flows`` planar flows to ``z_K``, and every item is scored bilinearly against the shared
    item embeddings from ``z_K`` and the attention context. Training minimises, per prefix,

        -log p(y | z_K, c_l) + beta_t * (log q0(z0) - log p(z_K) - sum_k log|det J_k|)

    (the paper's Eq. 9, one Monte-Carlo sample, standard normal prior), with ``beta_t`` rising
    linearly from 0 to ``beta``. Predictions are deterministic: ``z0 = mu`` pushed through the
    flows.

    The defaults depart from the paper in four ways, each chosen on validation data (Notes):
    ``beta=0`` leaves the flow term out (the latent is still sampled and pushed through the
    flows in training, but nothing pulls it towards the prior), ``label_smoothing=0.1``
    smooths the softmax's targets, ``ema_decay=0.999`` predicts with a moving average of
    the weights over the optimiser steps, and ``batching="sessions"`` trains the prefixes of a
    session in one batch. ``VASERRecommender(**PAPER_PARAMS)`` (``beta=0.2,
    label_smoothing=0, ema_decay=0, batching="prefixes"``) is the paper's model, with
    ``n_flows=0`` its VRM baseline (the session-level Gaussian VAE).

    Parameters
    ----------
    {ARCHITECTURE.format(**_DEFAULTS)}
    latent_dim : int, default=100
        Dimension ``d`` of the latent ``z``.
    n_flows : int, default=16
        Number ``K`` of planar flows (0: plain Gaussian posterior).
    beta : float, default=0.0
        Final weight of the flow term; 0.2 is the paper's.
    beta_annealing_steps : int or "auto", default="auto"
        Optimiser steps over which ``beta_t`` rises linearly from 0 to ``beta`` (0: no
        annealing). ``"auto"``: 2000 steps, or a third of the fit's steps (``max_iter`` times
        the batches of an epoch) where that is fewer, so that a fit on small data reaches the
        full ``beta`` too; the steps used are ``beta_annealing_steps_``.
    amortized_flows : bool, default=True
        Produce each session's flow parameters ``(u, w, b)`` from its encoding (Rezende &
        Mohamed's amortisation); False shares one set of flows across sessions.
    latent_source : {{"hidden", "session"}}, default="hidden"
        Infer ``z`` from the last GRU state ``h_t`` (the paper's Figure 1) or from the whole
        session vector ``[h_t; c_l]``.
    decoder : {{"latent_attention", "latent"}}, default="latent_attention"
        Decode from ``[z_K; c_l]`` or from ``z_K`` alone.
    attention : {{"narm", "softmax"}}, default="narm"
        NARM's unnormalised attention weights, or their softmax over the clicks.
    {BATCHING.format(**_DEFAULTS)}
    {TRAINING.format(**_DEFAULTS)}
    {RANKING_PARAMETERS}

    Attributes
    ----------
    {ATTRIBUTES}
    beta_annealing_steps_ : int
        Optimiser steps of the annealing in the last ``fit``.

    See Also
    --------
    NARMRecommender : the same encoder without the latent variable.

    Notes
    -----
    Choices the paper leaves open, measured on YOOCHOOSE 1/64 (``benchmarks/HISTORY.md``,
    sections 1, 14, 17, 21, 30 and 11; today's figures in
    ``benchmarks/README.md``):

    - The flow term is averaged over the ``latent_dim`` dimensions (nats per dimension), so
      ``beta = 0.2`` weighs it as ``0.002`` would weigh the sum over 100 dimensions. With the
      sum, the term (100-350 nats a prefix) outweighs the reconstruction (6-9 nats) by far and
      the posterior collapses onto the prior as soon as ``beta_t`` leaves 0: Adam rescales each
      parameter's step, so the variance head, which only the flow term reaches, moves at full
      speed however small ``beta_t`` is.
    - The network starts as NARM: the mean head is the identity, the posterior's standard
      deviation starts at about 0.02 and the flows are the identity (their ``u`` heads start at
      zero, and the invertibility constraint ``w^T u_hat >= -1`` uses
      ``m(x) = -1 + softplus(x + log(e - 1))``, for which ``m(0) = 0``). A unit-variance start
      with default initialisation trains markedly slower.
    - ``beta=0`` rather than the paper's 0.2: on the most recent 10 % of the training sessions,
      over three seeds, it scores 0.07 +- 0.05 points of Recall@20 and 0.58 +- 0.16 of MRR@20
      more (paired differences); the flows (``n_flows=16`` against 0) are what adds accuracy.
    - ``label_smoothing=0.1`` rather than the paper's plain targets: on the same validation
      data, over three seeds, 0.33 +- 0.04 points of Recall@20 more at the same MRR@20
      (-0.02 +- 0.22).
    - ``ema_decay=0.999`` rather than the last step's weights: on the same validation data,
      over three seeds, 0.21 +- 0.11 points of Recall@20 and 0.19 +- 0.11 of MRR@20 more
      (paired; every seed gains both), for the cost of one weighted sum of the weights per
      step.
    - ``batching="sessions"`` rather than prefixes shuffled across sessions: on the same
      validation data, over three seeds, 0.09 +- 0.06 points of Recall@20 and 0.21 +- 0.17
      of MRR@20 more (paired; every seed gains both), and the GRU runs over each session's
      clicks once rather than over each of its prefixes.
    - The training schedule (20 epochs, the step size multiplied by 0.9 after each, dropout 0.3 on
      ``[z_K; c_l]``) was chosen on validation data against 10 epochs, 0.8 and NARM's 0.5:
      0.48 points of Recall@20 more, at twice the fitting time.

    References
    ----------
    .. [1] F. Zhou, Z. Wen, K. Zhang, G. Trajcevski and T. Zhong. "Variational Session-based
       Recommendation Using Normalizing Flows". WWW 2019.
    .. [2] D. J. Rezende and S. Mohamed. "Variational Inference with Normalizing Flows".
       ICML 2015.

    Examples
    --------
    >>> from skvaser import VASERRecommender, sessions_to_prefixes
    >>> from skvaser.datasets import make_sessions
    >>> X, y, groups = sessions_to_prefixes(*make_sessions(n_sessions=200, random_state=0))
    >>> model = VASERRecommender(n_flows=4, max_iter=2, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3, 20)
    """

    _parameter_constraints: dict = {
        **NeuralRecommender._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "n_flows": [Interval(Integral, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "beta_annealing_steps": [
            Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})
        ],
        "amortized_flows": ["boolean"],
        "latent_source": [StrOptions({"hidden", "session"})],
        "decoder": [StrOptions({"latent_attention", "latent"})],
        "attention": [StrOptions({"narm", "softmax"})],
        "batching": [StrOptions({"prefixes", "sessions"})],
    }

    _network_class = VASERNetwork
    _network_params = (
        "embedding_dim", "hidden_size", "latent_dim", "n_flows", "amortized_flows",
        "latent_source", "decoder", "embedding_dropout", "context_dropout", "attention",
    )

    def __init__(
        self,
        *,
        embedding_dim=50,
        hidden_size=100,
        embedding_dropout=0.25,
        context_dropout=_DEFAULTS["context_dropout"],
        latent_dim=100,
        n_flows=16,
        beta=0.0,
        beta_annealing_steps="auto",
        amortized_flows=True,
        latent_source="hidden",
        decoder="latent_attention",
        attention="narm",
        batching=_DEFAULTS["batching"],
        max_iter=_DEFAULTS["max_iter"],
        batch_size=512,
        learning_rate_init=_DEFAULTS["learning_rate_init"],
        learning_rate_decay=_DEFAULTS["learning_rate_decay"],
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=_DEFAULTS["n_iter_no_change"],
        tol=1e-4,
        n_negatives=0,
        sample_alpha=0.75,
        label_smoothing=_DEFAULTS["label_smoothing"],
        ema_decay=_DEFAULTS["ema_decay"],
        n_recommendations=20,
        exclude_seen=False,
        handle_unknown="warn",
        padding_value=-1,
        device="auto",
        matmul_precision="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.embedding_dropout = embedding_dropout
        self.context_dropout = context_dropout
        self.latent_dim = latent_dim
        self.n_flows = n_flows
        self.beta = beta
        self.beta_annealing_steps = beta_annealing_steps
        self.amortized_flows = amortized_flows
        self.latent_source = latent_source
        self.decoder = decoder
        self.attention = attention
        self.batching = batching
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate_decay = learning_rate_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_negatives = n_negatives
        self.sample_alpha = sample_alpha
        self.label_smoothing = label_smoothing
        self.ema_decay = ema_decay
        self.n_recommendations = n_recommendations
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.padding_value = padding_value
        self.device = device
        self.matmul_precision = matmul_precision
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
