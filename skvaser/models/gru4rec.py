"""GRU4RecRecommender: session-based recommendation with a recurrent neural network."""

from numbers import Real

from .._sklearn import Interval, StrOptions
from ..base import RANKING_PARAMETERS
from ..nn.gru4rec import GRU4RecNetwork
from ._docstrings import ATTRIBUTES, TRAINING
from .neural import NeuralRecommender

__all__ = ["GRU4RecRecommender"]

_DEFAULTS = {"max_iter": 10, "learning_rate_init": 0.003, "learning_rate_decay": 0.8,
             "n_iter_no_change": 2, "label_smoothing": 0.0, "ema_decay": 0.0}


class GRU4RecRecommender(NeuralRecommender):
    __doc__ = f"""GRU4Rec: a GRU over the session, scored from its last state against all items.

    Each click is embedded and fed to a GRU; the last hidden state ``h_t`` scores every item
    against separate output embeddings with a bias, ``score_i = W_i . h_t + b_i``, trained by
    default with full-softmax cross-entropy.

    Parameters
    ----------
    embedding_dim : int, default=50
        Size of the input item embeddings.
    hidden_size : int, default=100
        Units of the GRU, and size of the output item embeddings.
    embedding_dropout : float, default=0.0
        Dropout on the click embeddings.
    context_dropout : float, default=0.25
        Dropout on the last hidden state ``h_t``.
    loss : {{"cross_entropy", "bpr_max"}}, default="cross_entropy"
        Softmax cross-entropy of the next item, or BPR-max (Hidasi & Karatzoglou, 2018),
        ``-log sum_j s_j sigmoid(r_i - r_j) + bpr_max_regularization * sum_j s_j r_j^2``, with
        ``s`` the softmax over the negatives' scores ``r_j``. With ``n_negatives > 0`` the
        negatives of BPR-max are the batch's other targets and the sampled items, without the
        log-Q correction (as in GRU4Rec); cross-entropy is corrected.
    bpr_max_regularization : float, default=1.0
        Weight of BPR-max's score regularisation (``bpreg`` of the official implementation);
        unused with ``loss="cross_entropy"``.
    {TRAINING.format(**_DEFAULTS)}
    {RANKING_PARAMETERS}

    Attributes
    ----------
    {ATTRIBUTES}

    See Also
    --------
    NARMRecommender : a GRU with attention over the clicks and a bilinear decoder.
    ReLaVaRRecommender : GRU4Rec with a Gaussian latent state at every click.

    Notes
    -----
    GRU4Rec trains with session-parallel mini-batches: it keeps one hidden state per session
    and back-propagates through a single step per click, every click of a session being one
    target. This implementation trains, like the other recommenders of skvaser, on the prefix
    samples of the data contract: every (prefix, next click) row is an independent sample, the
    GRU is unrolled over the whole prefix (up to ``max_len`` clicks) and the gradient flows
    through all of it. The model and its scores are GRU4Rec's; the optimiser (Adam), the early
    stopping on the most recent rows and the input embedding (GRU4Rec's default feeds one-hot
    vectors) follow the shared trainer of skvaser. A prefix without a known click gets the
    most clicked next items, with NaN scores, as in every recommender.

    References
    ----------
    .. [1] B. Hidasi, A. Karatzoglou, L. Baltrunas and D. Tikk. "Session-based Recommendations
       with Recurrent Neural Networks". ICLR 2016.
    .. [2] B. Hidasi and A. Karatzoglou. "Recurrent Neural Networks with Top-k Gains for
       Session-based Recommendations". CIKM 2018.

    Examples
    --------
    >>> from skvaser import GRU4RecRecommender, sessions_to_prefixes
    >>> from skvaser.datasets import make_sessions
    >>> X, y, groups = sessions_to_prefixes(*make_sessions(n_sessions=200, random_state=0))
    >>> model = GRU4RecRecommender(max_iter=2, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3, 20)
    """

    _parameter_constraints: dict = {
        **NeuralRecommender._parameter_constraints,
        "loss": [StrOptions({"cross_entropy", "bpr_max"})],
        "bpr_max_regularization": [Interval(Real, 0, None, closed="left")],
    }

    _network_class = GRU4RecNetwork
    _network_params = (
        "embedding_dim", "hidden_size", "embedding_dropout", "context_dropout", "loss",
        "bpr_max_regularization",
    )

    def __init__(
        self,
        *,
        embedding_dim=50,
        hidden_size=100,
        embedding_dropout=0.0,
        context_dropout=0.25,
        loss="cross_entropy",
        bpr_max_regularization=1.0,
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
        self.loss = loss
        self.bpr_max_regularization = bpr_max_regularization
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

    def fit(self, X, y, groups=None):
        self._validate_params()
        if self.label_smoothing and self.loss != "cross_entropy":  # before anything changes
            raise ValueError(
                f"label_smoothing={self.label_smoothing} applies to loss='cross_entropy', "
                f"not loss={self.loss!r}: set label_smoothing=0."
            )
        return super().fit(X, y)

    fit.__doc__ = NeuralRecommender.fit.__doc__
