"""NARMRecommender: neural attentive session-based recommendation."""

from .._sklearn import StrOptions
from ..base import RANKING_PARAMETERS
from ..nn.narm import NARMNetwork
from ._docstrings import ARCHITECTURE, ATTRIBUTES, BATCHING, TRAINING
from .neural import NeuralRecommender

__all__ = ["NARMRecommender"]

_DEFAULTS = {"max_iter": 10, "learning_rate_init": 0.003, "learning_rate_decay": 0.8,
             "n_iter_no_change": 2, "label_smoothing": 0.0, "ema_decay": 0.0,
             "context_dropout": 0.5, "batching": "prefixes"}


class NARMRecommender(NeuralRecommender):
    __doc__ = f"""NARM: a GRU with attention over the clicks, scored against all items.

    The deterministic ancestor of :class:`VASERRecommender`: the same encoder (item embedding ->
    GRU -> last state ``h_t`` and attention context ``c_l``), decoded bilinearly,
    ``score_i = E_i^T B [h_t; c_l]``, trained with full-softmax cross-entropy.

    Parameters
    ----------
    {ARCHITECTURE.format(**_DEFAULTS)}
    attention : {{"narm", "softmax"}}, default="narm"
        NARM's unnormalised attention weights ``v^T sigmoid(A1 h_t + A2 h_j)``, or their softmax
        over the clicks.
    {BATCHING.format(**_DEFAULTS)}
    {TRAINING.format(**_DEFAULTS)}
    {RANKING_PARAMETERS}

    Attributes
    ----------
    {ATTRIBUTES}

    See Also
    --------
    VASERRecommender : NARM's encoder with a variational latent and normalizing flows.

    References
    ----------
    .. [1] J. Li, P. Ren, Z. Chen, Z. Ren, T. Lian and J. Ma. "Neural Attentive Session-based
       Recommendation". CIKM 2017.

    Examples
    --------
    >>> from skvaser import NARMRecommender, sessions_to_prefixes
    >>> from skvaser.datasets import make_sessions
    >>> X, y, groups = sessions_to_prefixes(*make_sessions(n_sessions=200, random_state=0))
    >>> model = NARMRecommender(max_iter=2, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3, 20)
    """

    _parameter_constraints: dict = {
        **NeuralRecommender._parameter_constraints,
        "attention": [StrOptions({"narm", "softmax"})],
        "batching": [StrOptions({"prefixes", "sessions"})],
    }

    _network_class = NARMNetwork
    _network_params = (
        "embedding_dim", "hidden_size", "embedding_dropout", "context_dropout", "attention",
    )

    def __init__(
        self,
        *,
        embedding_dim=50,
        hidden_size=100,
        embedding_dropout=0.25,
        context_dropout=_DEFAULTS["context_dropout"],
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
