"""What the neural recommenders share: parameters, device, seeding, training, ranking, pickling."""

import contextlib
import copy
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state, metadata_routing

from .._items import UNKNOWN
from .._ranking import SCORE_ITEMS
from .._sklearn import Interval, StrOptions
from .._validation import is_padding
from .._warnings import warn_at_caller
from ..base import BaseRecommender, unchanged_on_error
from ..nn._torch_compat import cpu_has_bfloat16_dot_products
from ..nn.batching import PrefixBatches, SessionBatches
from ..nn.sampled_softmax import NegativeSampler, popularity_counts
from ..nn.trainer import TrainingHistory, train_network

__all__ = [
    "NeuralRecommender",
    "float32_on_cuda",
    "resolve_annealing_steps",
    "resolve_device",
    "resolve_matmul_precision",
]

#: Cells of the (rows x items) score matrix scored at once when ranking: 2**24 float32 = 64 MiB.
#: (On the CPU, blocks are smaller still: :data:`skvaser.nn.base.CACHE_CELLS`.)
SCORE_CELLS = 2**24
#: Prefixes encoded at once when ranking on the CPU, at least: the encoder's per-batch cost is
#: amortised, and the per-prefix tensors of the flows (rows x n_flows x latent_dim) stay in the
#: cache. (Their scores are computed in smaller blocks: ``CACHE_CELLS``.)
ENCODE_ROWS = 1024
#: ``beta_annealing_steps="auto"`` on large data: the steps of the earlier fixed default.
MAX_AUTO_ANNEALING_STEPS = 2000


def resolve_device(device):
    """``"auto"``: CUDA when available, else the CPU; anything else: ``torch.device(device)``,
    which must be the CPU, an available CUDA device or this machine's own accelerator."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:  # torch's own message lists every device type it knows
        raise ValueError(
            f"device={device!r} is not a device: give 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from error
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s), numbered from 0."
            )
        return resolved
    accelerator = (
        torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    )
    if accelerator is None or resolved.type != accelerator.type:
        here = f"its accelerator is {accelerator.type!r}" if accelerator else "it has none"
        raise ValueError(
            f"device={device!r} is not available here ({here}): give 'auto', 'cpu' or an "
            "available accelerator."
        )
    return resolved


def resolve_matmul_precision(precision, device):
    """``"auto"``: ``"bfloat16"`` on a CPU with bfloat16 dot-product instructions, else
    ``"float32"``; anything else is returned as it is."""
    if precision != "auto":
        return precision
    native = cpu_has_bfloat16_dot_products()
    return "bfloat16" if device.type == "cpu" and native else "float32"


_TF32_LOCK = threading.Lock()
#: How many fits and predictions are inside :func:`float32_on_cuda`, and the switches they found.
_TF32_STATE = {"inside": 0, "found": None}


@contextlib.contextmanager
def float32_on_cuda(device):
    """Full float32 arithmetic on CUDA while inside: no TensorFloat-32 in cuBLAS products or
    cuDNN kernels (``torch.set_float32_matmul_precision("highest")``,
    ``torch.backends.cudnn.allow_tf32 = False``).

    The switches found on entry are restored when the last fit or prediction inside (of any
    thread) leaves. Other devices are left as they are.
    """
    if device.type != "cuda":
        yield
        return
    with _TF32_LOCK:
        if _TF32_STATE["inside"] == 0:
            _TF32_STATE["found"] = (
                torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
            )
            torch.set_float32_matmul_precision("highest")
            torch.backends.cudnn.allow_tf32 = False
        _TF32_STATE["inside"] += 1
    try:
        yield
    finally:
        with _TF32_LOCK:
            _TF32_STATE["inside"] -= 1
            if _TF32_STATE["inside"] == 0:
                precision, cudnn = _TF32_STATE["found"]
                torch.set_float32_matmul_precision(precision)
                torch.backends.cudnn.allow_tf32 = cudnn


def resolve_annealing_steps(steps, total_steps):
    """``"auto"``: ``MAX_AUTO_ANNEALING_STEPS`` optimiser steps, or a third of the fit's
    ``total_steps`` where that is fewer (so that a short fit reaches the full ``beta`` too);
    anything else is returned as it is."""
    if steps != "auto":
        return steps
    return max(1, min(MAX_AUTO_ANNEALING_STEPS, total_steps // 3))


class NeuralRecommender(BaseRecommender):
    """Base of the PyTorch recommenders.

    Every subclass takes the training parameters below (documented once, in each estimator's
    docstring) plus its own architecture parameters, and names its network: ``_network_class``,
    built as ``_network_class(n_items, **{name: value})`` for the ``_network_params``.
    """

    #: The :class:`~skvaser.nn.base.SessionNetwork` subclass of the estimator.
    _network_class = None
    #: The parameters the network is built from, passed by name. A fitted network keeps the
    #: values it was built with (``_built_with``): pickling rebuilds it from them, and a warm
    #: start refuses to continue it under others.
    _network_params = ()

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "embedding_dropout": [Interval(Real, 0, 1, closed="left")],
        "context_dropout": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right"), StrOptions({"linear"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_negatives": [Interval(Integral, 0, None, closed="left")],
        "sample_alpha": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "device": [str, torch.device],
        "matmul_precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    # ``groups`` is accepted by fit and never routed there (no set_fit_request for it)
    __metadata_request__fit = {"groups": metadata_routing.UNUSED}

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, groups=None):
        """Train on prefixes ``X`` and their next items ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last, rows in time order (the last
            ``validation_fraction`` of rows are held out for early stopping).
        y : array-like of shape (n_samples,)
            Next item of each prefix.
        groups : Ignored
            Not used: a session's prefixes are found from the rows themselves (each extends
            the one before it). Accepted so that every recommender fits with the same call,
            ``fit(X, y, groups=groups)``.

        Returns
        -------
        self

        Notes
        -----
        A fit that raises before it finishes an epoch (bad data, an unavailable device, a loss
        that diverges in its first epoch, ``KeyboardInterrupt``) leaves the recommender as it was,
        fitted or not. One that raises later keeps the weights of its finished epochs, with a
        warning; one interrupted later (``KeyboardInterrupt``) returns with them.
        """
        with unchanged_on_error(self) as outcome:
            warm = self.warm_start and hasattr(self, "network_")
            if warm:
                X_codes, y_codes = self._prepare_warm_fit(X, y)
                device = resolve_device(self.device)
                if device != self.device_:  # a copy: a failed fit leaves the model where it was
                    self.network_ = copy.deepcopy(self.network_).to(device)
                    self.device_ = device
                self._seed = self._draw_seed()  # random_state as it is now
            else:
                X_codes, y_codes, _ = self._prepare_fit(X, y)
                self.device_ = resolve_device(self.device)
                self._seed = self._draw_seed()
                self._built_with = self._network_arguments()
                with torch.random.fork_rng(devices=[]):  # initialise without touching global RNGs
                    torch.default_generator.manual_seed(self._seed)  # not CUDA's, as manual_seed
                    self.network_ = self._build_network(self.n_items_).to(self.device_)
                self._history = TrainingHistory()
            self.matmul_precision_ = resolve_matmul_precision(self.matmul_precision, self.device_)
            self.network_.product_dtype = getattr(torch, self.matmul_precision_)
            self.network_.label_smoothing = self.label_smoothing
            step_seed = self._seed + self._history.steps
            generator = torch.Generator(device=self.device_).manual_seed(step_seed + 1)
            batch_generator = torch.Generator().manual_seed(step_seed + 2)

            train, validation = self._split_validation(X_codes, y_codes)
            self._set_sampling(train)
            if hasattr(self, "beta_annealing_steps"):  # the variational models
                self.beta_annealing_steps_ = resolve_annealing_steps(
                    self.beta_annealing_steps, self.max_iter * train.n_training_batches
                )
            finished_before = len(self._history.loss)
            try:
                with float32_on_cuda(self.device_):
                    self._history = train_network(
                        self.network_,
                        train,
                        validation,
                        max_iter=self.max_iter,
                        learning_rate=self.learning_rate_init,
                        learning_rate_decay=self.learning_rate_decay,
                        beta=getattr(self, "beta", 0.0),
                        beta_annealing_steps=getattr(self, "beta_annealing_steps_", 0),
                        n_iter_no_change=self.n_iter_no_change,
                        tol=self.tol,
                        ema_decay=self.ema_decay,
                        generator=generator,
                        batch_generator=batch_generator,
                        verbose=self.verbose,
                        label=type(self).__name__,
                        history=self._history,
                    )
            finally:  # a failed fit re-raises with the weights of its finished epochs: record them
                self.network_.sampler = None  # training state only: never pickled or kept
                self._record(self._history, validation is not None)
                if self.n_iter_ > finished_before:
                    outcome.keep()
            if self._history.interrupted and self.n_iter_ == finished_before:
                raise KeyboardInterrupt  # nothing trained: give the recommender back as it was
        return self

    def _draw_seed(self):
        """The fit's seed, from ``random_state``: every generator of the fit derives from it."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _record(self, history, validated):
        """The fitted attributes of the epochs in ``history``."""
        self.n_iter_ = len(history.loss)
        self.loss_curve_ = list(history.loss)
        self.loss_terms_ = [dict(terms) for terms in history.terms]
        self.validation_scores_ = list(history.validation_scores) if validated else None
        self.best_validation_score_ = history.best_score if validated else None

    def _set_sampling(self, train):
        """Give the network its negative sampler and sparse item gradients when
        ``0 < n_negatives < n_items_`` (else the full softmax and dense gradients).

        The popularity counts are those of the training targets ``train`` (validation rows
        left out); the sampler draws from a generator of its own, seeded from ``random_state``.
        """
        sampled = 0 < self.n_negatives < self.n_items_
        self.network_.use_sparse_gradients(sampled)
        if not sampled:
            self.network_.sampler = None
            return
        generator = torch.Generator(device=self.device_).manual_seed(
            self._seed + self._history.steps + 3
        )
        self.network_.sampler = NegativeSampler(
            popularity_counts(train.targets, self.n_items_), self.n_negatives, self.sample_alpha,
            generator,
        )

    def _prepare_warm_fit(self, X, y):
        """Validate data for a warm-start refit; return the encoded rows the fitted vocabulary
        covers (rows with unknown items are left out with a warning)."""
        self._validate_params()
        changed = {
            name: value
            for name, value in self._network_arguments().items()
            if value != self._built_with[name]
        }
        if changed:
            now = ", ".join(f"{name}={value!r}" for name, value in changed.items())
            then = ", ".join(f"{name}={self._built_with[name]!r}" for name in changed)
            raise ValueError(
                f"warm_start continues the fitted network, which was built with {then}; the "
                f"estimator now has {now}. Set them back, or set warm_start=False to fit anew."
            )
        X = self._check_X(X, reset=False)
        y = self._check_y(y, len(X))
        padding = is_padding(X, self.padding_value)
        self._check_fitted_kind(X[~padding], "X")
        self._check_fitted_kind(y, "y")
        codes, targets = self._encode(X), self._encode(y)
        unknown = (targets == UNKNOWN) | ((codes == UNKNOWN) & ~padding).any(axis=1)
        empty = padding.all(axis=1)
        if unknown.any() or empty.any():
            warn_at_caller(
                f"warm_start keeps the item vocabulary of the first fit: {unknown.sum()} rows "
                f"with items unknown to it and {empty.sum()} empty rows are left out."
            )
        keep = ~(unknown | empty)
        if not keep.any():
            raise ValueError(
                f"warm_start: none of the {len(X)} rows can be trained on (every row is empty "
                "or holds items unknown to the fitted vocabulary). Refit with "
                "warm_start=False to learn a new vocabulary."
            )
        return codes[keep], targets[keep]

    def _split_validation(self, codes, targets):
        """The most recent ``validation_fraction`` of rows (rows are in time order) is held out."""
        if not self.early_stopping:
            return self._training_batches(codes, targets), None
        n_valid = int(round(self.validation_fraction * len(codes)))
        if n_valid < 1 or n_valid >= len(codes):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_valid} of {len(codes)} "
                "rows for validation; use more data or early_stopping=False."
            )
        cut = len(codes) - n_valid
        return (
            self._training_batches(codes[:cut], targets[:cut]),
            PrefixBatches(codes[cut:], targets[cut:], self._score_rows(), self.device_),
        )

    def _training_batches(self, codes, targets):
        """The training rows, batched as ``batching`` says (models without the parameter:
        prefixes)."""
        by_session = getattr(self, "batching", "prefixes") == "sessions"
        batches = SessionBatches if by_session else PrefixBatches
        return batches(codes, targets, self.batch_size, self.device_)

    # ------------------------------------------------------------------ ranking
    def _score_rows(self, k=20):
        """Prefixes scored at once for a top-``k``: ``rows * items per chunk <= SCORE_CELLS``."""
        return max(1, min(8192, SCORE_CELLS // min(self.n_items_, max(SCORE_ITEMS, k))))

    @torch.no_grad()
    def _rank(self, codes, k, *, allowed, exclude_seen):
        """Top-k indices into ``items_`` and their scores, scored in blocks of at most
        ``SCORE_CELLS`` (row, item) cells.

        Rows are ranked ``_score_rows(k)`` at a time, against ``max(SCORE_ITEMS, k)`` items at
        a time with a running top-k merge (:func:`skvaser._ranking.rank_items`), so the score
        matrix of a block never exceeds ``SCORE_CELLS`` = 2**24 cells, whatever the catalogue
        size. The working memory of ranking is therefore bounded by about ``8 * SCORE_CELLS``
        bytes (float32 scores, and the re-sort of rows whose scores tie) on top of the network,
        one copy of its item weights (``4 * n_items_ * dim`` bytes), the encoded prefixes
        (``8 * n_samples * max_len``) and the result (``16 * n_samples * k``).
        """
        if self.network_.training:
            self.network_.eval()
        score_rows = self._score_rows(k)
        encode_rows = max(score_rows, ENCODE_ROWS) if self.device_.type == "cpu" else score_rows
        batches = PrefixBatches(codes, None, encode_rows, self.device_)
        ranked = torch.empty((len(codes), k), dtype=torch.int64, device=self.device_)
        with float32_on_cuda(self.device_):
            weights = self.network_.item_weights()  # once: some networks build it (bias column)
            if allowed is not None:
                allowed = torch.as_tensor(allowed, device=self.device_)
            scores = torch.empty((len(codes), k), dtype=weights.dtype, device=self.device_)
            for rows, x, _ in batches:
                scores[rows], ranked[rows] = self.network_.rank(
                    x, k, weights=weights, item_chunk=SCORE_ITEMS, max_rows=score_rows,
                    allowed=allowed, exclude_seen=exclude_seen,
                )
        return ranked.cpu().numpy(), scores.cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def encode(self, X):
        """Session encodings: the vectors that ``predict`` scores against the item weights.

        Deterministic (dropout off, VASER's latent at its posterior mean pushed through the
        flows), so two prefixes with equal encodings get equal recommendations. Unknown items
        in a prefix are skipped with a warning, as in ``predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len)
            Left-padded prefixes of item ids, newest click last.

        Returns
        -------
        encodings : ndarray of float32, shape (n_samples, n_features)
            ``n_features`` is the width of the item weights (``embedding_dim`` for NARM,
            VASER and STAMP; ``hidden_size + 1`` for GRU4Rec and ReLaVaR, whose last column
            multiplies the item biases).
        """
        codes = self._codes_to_rank(X)
        self.network_.eval()
        batches = PrefixBatches(codes, None, ENCODE_ROWS, self.device_)
        width = self.network_.item_weights().shape[1]
        encodings = torch.empty((len(codes), width), device=self.device_)
        with float32_on_cuda(self.device_):
            for rows, x, _ in batches:
                encodings[rows] = self.network_.query(x)
        return encodings.cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        """Pickle the network as CPU tensors (a state dict), never as a module."""
        state = dict(super().__getstate__())
        if "network_" in state:
            network = state.pop("network_")
            state["_network_weights"] = {
                name: tensor.detach().cpu() for name, tensor in network.state_dict().items()
            }
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        """Rebuild the network on the fitted device, or on the CPU (with a warning) without CUDA."""
        state = dict(state)
        weights = state.pop("_network_weights", None)
        if weights is None and "items_" in state:
            raise ValueError("The fitted model's state holds no network weights: it was altered.")
        super().__setstate__(state)
        if weights is None:
            return
        device = torch.device(self.device_)
        if device.type == "cuda" and not torch.cuda.is_available():
            warn_at_caller(
                "This model was trained on CUDA, which is not available here; it is loaded "
                "on the CPU (device_ is now 'cpu')."
            )
            device = torch.device("cpu")
        elif device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            warn_at_caller(
                f"This model was trained on {device}, which this machine does not have (it "
                f"has {torch.cuda.device_count()} CUDA devices); it is loaded on cuda, the "
                "current CUDA device (device_ is now 'cuda')."
            )
            device = torch.device("cuda")
        self.device_ = device
        if not hasattr(self, "_built_with"):  # pickled by an older skvaser
            self._built_with = self._network_arguments()
        if "_steps" in state:  # pickled by an older skvaser: its steps, for a warm start
            self._history.steps = self.__dict__.pop("_steps")
        with torch.random.fork_rng(devices=[]):
            network = self._build_network(self.n_items_, self._built_with)
        try:
            network.load_state_dict(weights)
        except RuntimeError as exc:  # weights missing, unexpected or of another shape
            raise ValueError(
                f"The saved weights do not fit {type(self).__name__}'s network: the model file "
                f"is damaged or altered. {exc}"
            ) from exc
        self.network_ = network.to(device).eval()

    def _network_arguments(self):
        """The estimator's values of ``_network_params``: dict."""
        return {name: getattr(self, name) for name in self._network_params}

    def _build_network(self, n_items, arguments=None):
        """The untrained :class:`~skvaser.nn.base.SessionNetwork` for ``n_items`` items, built
        from ``arguments`` (default: the estimator's own, :meth:`_network_arguments`)."""
        arguments = self._network_arguments() if arguments is None else arguments
        return self._network_class(n_items, **arguments)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # On CUDA some backward kernels add in no fixed order: the same seed gives the same
        # model only up to float rounding. On the CPU, bit for bit.
        device = str(self.device)
        tags.non_deterministic = device.startswith("cuda") or (
            device == "auto" and torch.cuda.is_available()
        )
        return tags

