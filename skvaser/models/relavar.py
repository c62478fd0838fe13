"""ReLaVaRRecommender: recurrent latent variable networks for session-based recommendation."""

from numbers import Integral, Real

from .._sklearn import Interval, StrOptions
from ..base import RANKING_PARAMETERS
from ..nn.relavar import ReLaVaRNetwork
from ._docstrings import ATTRIBUTES, TRAINING
from .neural import NeuralRecommender

__all__ = ["ReLaVaRRecommender"]

_DEFAULTS = {"max_iter": 10, "learning_rate_init": 0.003, "learning_rate_decay": 0.8,
             "n_iter_no_change": 2, "label_smoothing": 0.0, "ema_decay": 0.0}


class ReLaVaRRecommender(NeuralRecommender):
    __doc__ = f"""ReLaVaR: GRU4Rec with a Gaussian latent variable as its state at every click.

    The recurrent units are stochastic: at click ``t`` the state is drawn from
    ``q(z_t | x_t, z_(t-1)) = N(mu_t, diag sigma_t^2)``, with ``mu_t = GRUCell(x_t, z_(t-1))``
    and ``log sigma_t^2`` a linear function of ``mu_t``, under a standard normal prior. The next
    item is scored from the last state against separate output embeddings with a bias, as in
    GRU4Rec. Training minimises, per prefix of ``L`` clicks,

        -log p(y | z_L) + beta_t * KL(q(z_L | x_L, z_(L-1)) || N(0, I)) / d

    (one reparameterised sample of every ``z_t``, each fed to the next step; ``d`` =
    ``hidden_size``), with ``beta_t`` rising linearly from 0 to ``beta``. The KL term is in nats
    per latent dimension, as VASER's flow term, so that ``beta`` weighs the two models'
    regularisers alike. Summed over the prefixes of a session this is, for ``beta=d``, the
    negative evidence lower bound of the session with one KL term per click (see Notes).
    Predictions are deterministic: every ``z_t`` is its posterior mean.

    Parameters
    ----------
    embedding_dim : int, default=50
        Size of the input item embeddings.
    hidden_size : int, default=100
        Dimension of the latent states ``z_t``, and size of the output item embeddings.
    embedding_dropout : float, default=0.0
        Dropout on the click embeddings.
    context_dropout : float, default=0.0
        Dropout on the last state ``z_L``.
    beta : float, default=0.2
        Final weight of the KL term per latent dimension; ``hidden_size`` gives the evidence
        lower bound, whose noise costs accuracy (see Notes).
    beta_annealing_steps : int or "auto", default="auto"
        Optimiser steps over which ``beta_t`` rises linearly from 0 to ``beta`` (0: no
        annealing). ``"auto"``: 2000 steps, or a third of the fit's steps (``max_iter`` times
        the batches of an epoch) where that is fewer, so that a fit on small data reaches the
        full ``beta`` too; the steps used are ``beta_annealing_steps_``.
    {TRAINING.format(**_DEFAULTS)}
    {RANKING_PARAMETERS}

    Attributes
    ----------
    {ATTRIBUTES}
    beta_annealing_steps_ : int
        Optimiser steps of the annealing in the last ``fit``.

    See Also
    --------
    GRU4RecRecommender : the same network with deterministic states.
    VASERRecommender : a session-level latent (``n_flows=0, **PAPER_PARAMS``, from
        ``skvaser.models.vaser``: the VRM baseline).

    Notes
    -----
    The paper treats the GRU's hidden units as latent variables with a standard normal prior,
    inferred by amortised variational inference, and trains on the evidence lower bound of a
    session, ``sum_t E[log p(x_(t+1) | z_t)] - sum_t KL(q(z_t | x_t, z_(t-1)) || N(0, I))``.
    skvaser trains on prefix samples instead (every prefix is a sample, not GRU4Rec's
    session-parallel mini-batches): the bound splits over the prefixes of a session, the
    prefix ending at click ``t`` carrying the likelihood of click ``t + 1`` and the KL term of
    step ``t``; so each prefix adds the KL of its last step only, and every step of a session
    is counted once.

    This implementation makes the simplest faithful choice of posterior: the GRU cell gives the
    mean from the click and the previous sampled state, and one linear layer of the mean the
    log-variance (it starts at zero: unit variance, as in :class:`VASERRecommender`). Because
    each sample feeds the next step, the clicks are unrolled one step at a time rather than by
    the fused GRU kernel, so training costs more per prefix than :class:`GRU4RecRecommender`.
    An empty prefix keeps the initial state ``z_0 = 0`` and is scored by the biases alone.

    The KL term is averaged over the latent dimensions for the reason VASER's flow term is:
    summed, it outweighs the likelihood and the states stay as noisy as the prior allows. On
    YOOCHOOSE 1/64 (the most recent 120,000 prefixes before the validation sessions, 3 epochs,
    Recall@20 on the most recent 10 % of the training sessions) the summed KL reaches 51.88,
    the KL per dimension 59.27, and a posterior that starts nearly deterministic (standard
    deviation 0.02) with the summed KL 50.53. The default ``beta`` is VASER's weight of its
    regulariser. Early stopping keeps the best validation epoch, which may come before
    ``beta_t`` reaches ``beta``.

    References
    ----------
    .. [1] S. P. Chatzis, P. Christodoulou and A. S. Andreou. "Recurrent Latent Variable
       Networks for Session-Based Recommendation". DLRS workshop at RecSys 2017.
    .. [2] B. Hidasi, A. Karatzoglou, L. Baltrunas and D. Tikk. "Session-based Recommendations
       with Recurrent Neural Networks". ICLR 2016.

    Examples
    --------
    >>> from skvaser import ReLaVaRRecommender, sessions_to_prefixes
    >>> from skvaser.datasets import make_sessions
    >>> X, y, groups = sessions_to_prefixes(*make_sessions(n_sessions=200, random_state=0))
    >>> model = ReLaVaRRecommender(max_iter=2, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3, 20)
    """

    _parameter_constraints: dict = {
        **NeuralRecommender._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "beta_annealing_steps": [
            Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})
        ],
    }

    _network_class = ReLaVaRNetwork
    _network_params = (
        "embedding_dim", "hidden_size", "embedding_dropout", "context_dropout",
    )

    def __init__(
        self,
        *,
        embedding_dim=50,
        hidden_size=100,
        embedding_dropout=0.0,
        context_dropout=0.0,
        beta=0.2,
        beta_annealing_steps="auto",
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
        self.beta = beta
        self.beta_annealing_steps = beta_annealing_steps
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
