"""The training loop shared by every neural recommender.

Adam on mini-batches of equal-length prefixes held on the device; the loss is
``reconstruction + beta_t * regularization`` with ``beta_t`` rising linearly from 0 to ``beta``;
with ``ema_decay > 0`` a moving average of the weights (:class:`_WeightAverage`) is what is
validated and kept; early stopping on Recall@20 of a held-out set restores the best weights.

:func:`train_network` reads as its steps: one epoch of optimiser steps (:func:`_train_epoch`), each
followed by the moving average's update, a check that every loss term and weight stayed finite
(:func:`_check_finite`, :func:`_check_finite_weights`), the epoch's record and the validation of
the averaged weights (:class:`_EarlyStopping`), the weights to fall back on
(:class:`_WeightKeeper`) and the progress report (:class:`_Progress`). An interrupted fit keeps the
weights of its finished epochs (:func:`_warn_stopped_early`). The full softmax's scores of every
step live in one :class:`~skvaser.nn.softmax.ScoreBuffer`, lent to the step's forward pass and
released after its backward pass.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.optim.lr_scheduler import ExponentialLR, LambdaLR

from .._progress import progress
from .._warnings import warn_at_caller
from .lazy_adam import LazyAdam
from .softmax import ScoreBuffer

__all__ = ["TrainingHistory", "train_network", "evaluate_network"]

#: ``verbose`` from which progress within each epoch is shown, not only one line per epoch.
VERBOSE_WITHIN_EPOCHS = 2


@dataclass
class TrainingHistory:
    """What one call of :func:`train_network` measured, one entry per epoch."""

    loss: list = field(default_factory=list)
    terms: list = field(default_factory=list)  # dict of mean loss terms per epoch
    validation_scores: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = -np.inf
    interrupted: bool = False
    steps: int = 0  # optimiser steps of the finished epochs


@torch.no_grad()
def evaluate_network(network, batches, k=20):
    """Recall@k and MRR@k of ``network`` on ``batches`` (a :class:`PrefixBatches` with targets)."""
    network.eval()
    k = min(k, len(network.item_weights()))
    hits = torch.zeros((), device=batches.codes.device)
    reciprocal = torch.zeros((), device=batches.codes.device)
    for _, x, y in batches:
        top = network.top_k(x, k)  # (B, k) item codes minus one
        match = top == (y - 1)[:, None]
        hits += match.any(dim=1).sum()
        ranks = torch.arange(1, k + 1, device=top.device, dtype=torch.float32)
        reciprocal += (match / ranks).sum()
    return hits.item() / batches.n_samples, reciprocal.item() / batches.n_samples


def _check_finite_weights(network, epoch):
    """Raise when the epoch's last step left a weight NaN, infinite or so large that its square
    overflows (so would the products of prediction), which no loss of the epoch shows (each is
    computed before its step)."""
    # the extremes are NaN or infinite when any weight is: one read of the weights, without
    # isfinite's mask (as large as the item tables); one device-to-host copy an epoch
    extremes = torch.cat([torch.stack(torch.aminmax(w)) for w in network.parameters() if w.numel()])
    largest = torch.finfo(extremes.dtype).max ** 0.5
    if not bool((extremes.abs() <= largest).all()):  # False for NaN too
        raise FloatingPointError(
            f"The network's weights became NaN, infinite or larger than {largest:.1e} (their "
            f"products overflow) at the last step of epoch {epoch}. Lower learning_rate_init "
            "or check the input data."
        )


def _check_finite(per_step, epoch):
    """Raise naming the loss term that first became NaN or infinite in this epoch.

    ``per_step`` maps each term (and the total, ``"loss"``) to its values at every step. A
    diverged term makes the total diverge, and poisons the weights and so every term after it:
    the culprit is the term that was not finite first.
    """
    first = {}
    for name, values in per_step.items():
        bad = torch.nonzero(~torch.isfinite(values)).flatten()
        if len(bad):
            first[name] = int(bad[0])
    if not first:
        return
    step = min(first.values())
    names = [n for n, at in first.items() if at == step and n != "loss"] or ["loss"]
    values = " and ".join(str(per_step[n][step].item()) for n in names)
    raise FloatingPointError(
        f"The {' and '.join(names)} term{'s' if len(names) > 1 else ''} of the loss became "
        f"{values} at step {step + 1} of epoch {epoch}. "
        + (
            "The flow/KL regulariser diverged: lower beta or learning_rate_init."
            if names == ["regularization"]
            else "Lower learning_rate_init or check the input data."
        )
    )


def train_network(
    network,
    train,
    validation,
    *,
    max_iter,
    learning_rate,
    learning_rate_decay,
    beta,
    beta_annealing_steps,
    n_iter_no_change,
    tol,
    ema_decay,
    generator,
    batch_generator,
    verbose,
    label=None,
    history=None,
):
    """Train ``network`` in place; return its :class:`TrainingHistory`.

    Parameters
    ----------
    network : SessionNetwork
    train : PrefixBatches
        Training prefixes with targets, on the network's device. Prefixes without clicks are
        not trained on; at least one prefix must have some.
    validation : PrefixBatches or None
        Held-out prefixes for early stopping (None: train ``max_iter`` epochs).
    max_iter : int
        Maximum number of epochs.
    learning_rate : float
        Adam's initial step size.
    learning_rate_decay : float or "linear"
        Multiplies the step size after every epoch (1.0: constant); ``"linear"``: the step size
        falls after every optimiser step, linearly from ``learning_rate`` to 0 at the end of
        ``max_iter`` epochs (early stopping ends it sooner).
    beta : float
        Final weight of the regulariser.
    beta_annealing_steps : int
        Optimiser steps over which the weight rises linearly from 0 to ``beta``.
    n_iter_no_change : int
        Epochs without an improvement of more than ``tol`` before stopping.
    tol : float
        Minimal improvement of the validation Recall@20.
    ema_decay : float
        Decay of the exponential moving average of the weights over optimiser steps (see
        :class:`_WeightAverage`); the average is what is validated and what the network ends
        with. 0: the weights of the last step.
    generator : torch.Generator on the device
        Dropout masks and latent noise.
    batch_generator : torch.Generator on the CPU
        Batch order.
    verbose : int
        0: silent. 1: one line per epoch on standard output (the model's ``label``, epoch i/N,
        loss terms, validation scores, samples per second, the epoch's, the elapsed and the
        estimated remaining time). 2 and above: also progress within each epoch, a progress
        bar on a terminal and a plain line at every tenth of the epoch elsewhere.
    label : str, optional
        Name that starts every progress line (the estimator's class name).
    history : TrainingHistory, optional
        Continue this history (``warm_start``): its epochs, and its ``steps`` for the annealing
        of ``beta`` and the moving average.

    Returns
    -------
    history : TrainingHistory
        ``history`` (or a new one), with this call's epochs appended and ``steps``, the
        optimiser steps of every finished epoch, an earlier call's included.

    Raises
    ------
    ValueError
        If ``train`` holds no prefix with a click to train on.
    FloatingPointError
        If a loss term becomes NaN or infinite (the message names the term, the step and the
        epoch), or an epoch ends with weights NaN, infinite or too large to multiply.

    Notes
    -----
    On ``KeyboardInterrupt`` the epoch in progress is dropped: the network returns to the
    (averaged) weights of the best epoch so far (with ``validation``) or of the last finished epoch,
    ``history.interrupted`` is set, a warning says how many epochs finished, and the function
    returns normally. Any other exception during training (a diverged loss, running out of
    memory) restores the same weights, warns (when an epoch had finished), and propagates.

    With ``validation`` and a ``history`` that already holds epochs (``warm_start``), the best
    score to beat is that of the weights the call starts with, on this call's ``validation``:
    an earlier call's best was measured on other rows.
    """
    if train.n_training_batches == 0:
        raise ValueError(
            "No training rows: every prefix is empty (no click known to the model), so there "
            "is nothing to learn from."
        )
    history = TrainingHistory() if history is None else history
    history.interrupted = False
    if validation is not None and history.loss:
        history.best_score = evaluate_network(network, validation)[0]
        history.best_epoch = len(history.loss)
    optimizer = _adam(network, learning_rate)
    scheduler, per_step = _step_sizes(
        optimizer, learning_rate_decay, max_iter * train.n_training_batches
    )
    keeper = _WeightKeeper(network)
    average = _WeightAverage(network, ema_decay, history.steps)
    stopping = _EarlyStopping(history, n_iter_no_change, tol)
    first_epoch = len(history.loss) + 1
    last_epoch = first_epoch + max_iter - 1
    progress = _Progress(verbose, label, train, first_epoch, last_epoch)
    step = history.steps
    network.score_buffer = ScoreBuffer()
    try:
        for epoch in range(first_epoch, last_epoch + 1):
            started = time.perf_counter()
            batches = progress.batches(train.shuffled(batch_generator), epoch)
            terms, step, weight = _train_epoch(
                network, batches, optimizer, scheduler if per_step else None, average,
                generator, step, beta, beta_annealing_steps, train.n_training_batches,
            )
            if not per_step:
                scheduler.step()
            _check_finite(terms, epoch)
            _check_finite_weights(network, epoch)
            trained = time.perf_counter() - started
            means = _record_losses(history, terms)
            history.steps = step
            with average.swapped_in():
                scores = None if validation is None else evaluate_network(network, validation)
                if scores is None:  # one entry per epoch, also across warm starts
                    history.validation_scores.append(float("nan"))
                if scores is None or stopping.update(scores[0], epoch):
                    keeper.keep()  # the last epoch without validation, else the best
            history.seconds.append(time.perf_counter() - started)
            progress.epoch_done(epoch, history, means, weight, scores, trained)
            if validation is not None and stopping.should_stop():
                progress.stopped_early(epoch, n_iter_no_change)
                break
    except KeyboardInterrupt:
        history.interrupted = True
        _warn_stopped_early(history, validation, "interrupted")
    except Exception:
        keeper.restore()
        network.eval()
        if history.loss:  # else nothing was trained: the estimator puts its state back
            _warn_stopped_early(history, validation, "failed")
        raise
    finally:
        network.score_buffer = None  # training state only: never pickled or kept
    if validation is not None or history.interrupted or average.active:
        keeper.restore()
    if validation is not None and not history.interrupted:
        progress.best_kept(history)
    network.eval()
    return history


def _adam(network, learning_rate):
    """Adam, fused where the device has the kernel.

    Parameters with sparse gradients (the item tables of a sampled softmax,
    ``network.sparse_parameters()``) get :class:`~skvaser.nn.lazy_adam.LazyAdam` instead
    (:class:`torch.optim.SparseAdam`'s update), which updates only the rows a step read (and
    their moments): a step then costs the rows it touched, not the catalogue.
    """
    device_type = next(network.parameters()).device.type
    sparse = list(getattr(network, "sparse_parameters", list)())
    sparse_ids = {id(parameter) for parameter in sparse}
    dense = [p for p in network.parameters() if id(p) not in sparse_ids]
    # The fused kernel updates every parameter in one pass (benchmarks/README.md).
    optimizer = torch.optim.Adam(dense, lr=learning_rate, fused=device_type in ("cpu", "cuda"))
    if not sparse:
        return optimizer
    return _Together(optimizer, LazyAdam(sparse, lr=learning_rate))


def _step_sizes(optimizer, learning_rate_decay, total_steps):
    """The schedule of ``optimizer``'s step size, and whether it steps after every optimiser
    step (``"linear"``: to 0 at step ``total_steps``) rather than after every epoch (a factor).
    """
    parts = getattr(optimizer, "parts", [optimizer])
    if learning_rate_decay == "linear":
        def falling(steps):
            return max(0.0, 1.0 - steps / total_steps)

        return _Together(*(LambdaLR(part, falling) for part in parts)), True
    return _Together(*(ExponentialLR(part, gamma=learning_rate_decay) for part in parts)), False


class _Together:
    """Optimisers (or schedulers) stepped as one: ``zero_grad`` and ``step`` call each."""

    def __init__(self, *parts):
        self.parts = parts

    def zero_grad(self, set_to_none=True):
        for part in self.parts:
            part.zero_grad(set_to_none=set_to_none)

    def step(self):
        for part in self.parts:
            part.step()


def _train_epoch(
    network, batches, optimizer, scheduler, average, generator, step, beta,
    beta_annealing_steps, n_batches,
):
    """One epoch of optimiser steps on ``batches``; ``scheduler`` (or None) steps after each.

    Returns
    -------
    per_step : dict of str to Tensor (n_steps,)
        ``"loss"`` and each loss term at every step of the epoch, on the device.
    step : int
        Optimiser steps taken in total, this epoch's included.
    weight : float
        The regulariser's weight at the epoch's last step.
    """
    network.train()
    # The loss and its terms at every step, on the device (no sync per step), written in place:
    # small tensors kept alive from step to step would fragment the heap between the softmax's
    # large buffers.
    recorded = names = None
    n_steps = 0
    for index, (_, x, y) in enumerate(batches):
        terms = network.loss_terms(x, y, generator)
        weight = beta * min(1.0, step / beta_annealing_steps) if beta_annealing_steps else beta
        loss = terms["reconstruction"]
        if "regularization" in terms:
            loss = loss + weight * terms["regularization"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # frees the step's graph, and with it its hold on the softmax's scores
        network.score_buffer.release()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        average.update()
        step += 1
        values = torch.stack([loss.detach(), *(value.detach() for value in terms.values())])
        if recorded is None:
            names = ["loss", *terms]
            recorded = values.new_empty(len(values), n_batches)
        recorded[:, index] = values
        n_steps = index + 1
    return dict(zip(names, recorded[:, :n_steps])), step, weight


def _record_losses(history, per_step):
    """Append the epoch's mean loss and mean terms to ``history``; return the terms' means."""
    means = {name: values.mean().item() for name, values in per_step.items()}
    history.loss.append(means.pop("loss"))
    history.terms.append(means)
    return means


class _EarlyStopping:
    """Patience on the validation score, kept in ``history`` (best score and epoch)."""

    def __init__(self, history, n_iter_no_change, tol):
        self.history, self.n_iter_no_change, self.tol = history, n_iter_no_change, tol
        self.stale = 0

    def update(self, score, epoch):
        """Record ``epoch``'s score; True when it beats the best so far by more than ``tol``."""
        history = self.history
        history.validation_scores.append(score)
        if score > history.best_score + self.tol:
            history.best_score, history.best_epoch, self.stale = score, epoch, 0
            return True
        self.stale += 1
        return False

    def should_stop(self):
        """True after ``n_iter_no_change`` epochs without improvement."""
        return self.stale >= self.n_iter_no_change


class _WeightAverage:
    """An exponential moving average of the network's parameters over optimiser steps.

    After step ``t`` (counted from the network's first fit, ``warm_start`` included) the average
    moves towards the weights by ``1 - min(decay, (1 + t) / (10 + t))``: early on it follows
    the weights closely, so that on a small dataset, whose fit takes few steps, the average
    forgets the initial weights too. The item tables of a sampled softmax
    (``network.sparse_parameters()``) are left out: averaging them would cost the whole
    catalogue at every step; the average holds their trained values. ``decay=0`` keeps no
    average (:attr:`active` is False and every method does nothing).
    """

    def __init__(self, network, decay, start_step):
        sparse = {id(p) for p in getattr(network, "sparse_parameters", list)()}
        # detached views share the parameters' storage: they see every step, outside autograd
        self.weights = [p.detach() for p in network.parameters() if id(p) not in sparse]
        self.decay, self.step = decay, start_step
        self.active = decay > 0
        self.average = [w.clone() for w in self.weights] if self.active else []
        self.trained = [w.clone() for w in self.weights] if self.active else []

    def update(self):
        """Move the average towards the weights of the step just taken."""
        if not self.active:
            return
        self.step += 1
        rate = 1.0 - min(self.decay, (1 + self.step) / (10 + self.step))
        torch._foreach_lerp_(self.average, self.weights, rate)

    @contextmanager
    def swapped_in(self):
        """The network holds the average inside the block, its trained weights after it."""
        if not self.active:
            yield
            return
        torch._foreach_copy_(self.trained, self.weights)
        torch._foreach_copy_(self.weights, self.average)
        try:
            yield
        finally:
            torch._foreach_copy_(self.weights, self.trained)


class _WeightKeeper:
    """One copy of the network's weights to fall back on, overwritten in place by :meth:`keep`.

    It starts as the weights the call began with; :func:`train_network` keeps the best epoch's
    weights when it validates, and every finished epoch's when it does not.
    """

    def __init__(self, network):
        self.network = network
        self.kept = {name: tensor.clone() for name, tensor in network.state_dict().items()}

    @torch.no_grad()
    def keep(self):
        for name, tensor in self.network.state_dict().items():
            self.kept[name].copy_(tensor)

    def restore(self):
        self.network.load_state_dict(self.kept)


def _warn_stopped_early(history, validation, how):
    """Warn that training ``how`` ("interrupted" or "failed"), naming the weights kept."""
    finished = len(history.loss)  # a warm start's earlier epochs included
    if validation is not None and history.best_epoch > 0:
        kept = f"the best weights so far (epoch {history.best_epoch})"
    elif finished:
        kept = f"the weights of the last complete step of epoch {finished}"
    else:
        kept = "the weights it started with"
    warn_at_caller(
        f"Training {how} during epoch {finished + 1} after {finished} finished "
        f"epoch{'' if finished == 1 else 's'}; the network keeps {kept}."
    )


class _Progress:
    """What ``verbose`` shows (see :func:`train_network`), on standard output."""

    def __init__(self, verbose, label, train, first_epoch, last_epoch):
        self.verbose = verbose
        self.prefix = f"{label} " if label else ""
        self.n_batches = train.n_training_batches
        self.n_samples = int(np.count_nonzero(train.lengths))  # rows trained on per epoch
        self.first_epoch, self.last_epoch = first_epoch, last_epoch
        self.started = time.perf_counter()

    def _title(self, epoch):
        return f"{self.prefix}epoch {epoch}/{self.last_epoch}"

    def batches(self, batches, epoch):
        """``batches``, reporting progress through them at ``verbose >= 2``."""
        if self.verbose < VERBOSE_WITHIN_EPOCHS:
            return batches
        title = self._title(epoch)
        return progress(
            batches, total=self.n_batches, title=title, unit="batch",
            line=lambda done, elapsed, left: (
                f"{title} | batch {done}/{self.n_batches} | {_duration(elapsed)} | "
                f"{_duration(left)} left in the epoch"
            ),
        )

    def epoch_done(self, epoch, history, means, weight, scores, trained_seconds):
        """Print the epoch's line at ``verbose >= 1``."""
        if not self.verbose:
            return
        parts = [self._title(epoch), f"loss {history.loss[-1]:.4f}"]
        parts += [f"{name} {value:.4f}" for name, value in means.items()]
        if "regularization" in means:
            parts.append(f"beta {weight:.3f}")
        if scores is not None:
            parts.append(f"valid R@20 {scores[0]:.4f} MRR@20 {scores[1]:.4f}")
        parts.append(f"{self.n_samples / trained_seconds:,.0f} samples/s")
        elapsed = time.perf_counter() - self.started
        done = epoch - self.first_epoch + 1
        left = elapsed / done * (self.last_epoch - epoch)
        parts.append(f"{_duration(history.seconds[-1])}")
        parts.append(f"elapsed {_duration(elapsed)}")
        parts.append(f"left {_duration(left)}" + (" at most" if scores is not None else ""))
        print(" | ".join(parts), flush=True)

    def stopped_early(self, epoch, patience):
        """Say at ``verbose >= 1`` that early stopping ended training after ``epoch``."""
        if self.verbose:
            print(f"{self.prefix}stopped after epoch {epoch}: valid R@20 gained nothing over "
                  f"{patience} epoch{'s' * (patience > 1)}", flush=True)

    def best_kept(self, history):
        """Say at ``verbose >= 1`` whose weights a validated fit keeps."""
        if self.verbose:  # epochs counted across warm starts, as in the epochs' lines
            print(f"{self.prefix}keeping the weights of epoch {history.best_epoch} (valid R@20 "
                  f"{history.best_score:.4f})", flush=True)


def _duration(seconds):
    """``seconds`` for a reader: "12.3 s", "4 min 05 s" or "2 h 03 min"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
