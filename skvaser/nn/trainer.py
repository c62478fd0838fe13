"""The training loop shared by every neural recommender.

Adam on mini-batches of equal-length prefixes held on the device; the loss is
``reconstruction + beta_t * regularization`` with ``beta_t`` rising linearly from 0 to ``beta``;
early stopping on Recall@20 of a held-out set restores the best weights.
"""

import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["TrainingHistory", "train_network", "evaluate_network"]


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
    generator,
    batch_generator,
    verbose,
    history=None,
    start_step=0,
):
    """Train ``network`` in place; return its :class:`TrainingHistory`.

    Parameters
    ----------
    network : SessionNetwork
    train : PrefixBatches
        Training prefixes with targets, on the network's device.
    validation : PrefixBatches or None
        Held-out prefixes for early stopping (None: train ``max_iter`` epochs).
    max_iter : int
        Maximum number of epochs.
    learning_rate : float
        Adam's initial step size.
    learning_rate_decay : float
        Multiplies the step size after every epoch (1.0: constant).
    beta : float
        Final weight of the regulariser.
    beta_annealing_steps : int
        Optimiser steps over which the weight rises linearly from 0 to ``beta``.
    n_iter_no_change : int
        Epochs without an improvement of more than ``tol`` before stopping.
    tol : float
    generator : torch.Generator on the device
        Dropout masks and latent noise.
    batch_generator : torch.Generator on the CPU
        Batch order.
    verbose : int
        > 0 prints one line per epoch.
    history : TrainingHistory, optional
        Continue this history (``warm_start``).
    start_step : int
        Optimiser steps already taken (``warm_start``), for the annealing of ``beta``.

    Returns
    -------
    history : TrainingHistory
    steps : int
        Optimiser steps taken in total.
    """
    history = history or TrainingHistory()
    # The fused kernel updates every parameter in one pass: 0.4 instead of 3.4 ms a step for
    # VASER on YOOCHOOSE 1/64, on the CPU with two threads.
    device_type = next(network.parameters()).device.type
    optimizer = torch.optim.Adam(
        network.parameters(), lr=learning_rate, fused=device_type in ("cpu", "cuda")
    )
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=learning_rate_decay)
    best_state = copy.deepcopy(network.state_dict())
    stale, step = 0, start_step
    first_epoch = len(history.loss)
    try:
        for epoch in range(first_epoch + 1, first_epoch + max_iter + 1):
            started = time.perf_counter()
            network.train()
            # The loss and its terms at every step, on the device (no sync per step), written in
            # place: small tensors kept alive from step to step would fragment the heap between
            # the softmax's large buffers (with bfloat16 products, 10 MB lost a step).
            recorded = None
            for index, (_, x, y) in enumerate(train.shuffled(batch_generator)):
                terms = network.loss_terms(x, y, generator)
                weight = beta * min(1.0, step / max(beta_annealing_steps, 1))
                loss = terms["reconstruction"]
                if "regularization" in terms:
                    loss = loss + weight * terms["regularization"]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                values = torch.stack([loss.detach(), *(value.detach() for value in terms.values())])
                if recorded is None:
                    names = ["loss", *terms]
                    recorded = values.new_empty(len(values), train.n_training_batches)
                recorded[:, index] = values
            scheduler.step()
            per_step = dict(zip(names, recorded[:, : index + 1]))
            _check_finite(per_step, epoch)
            means = {name: values.mean().item() for name, values in per_step.items()}
            history.loss.append(means.pop("loss"))
            history.terms.append(means)
            message = f"epoch {epoch:3d} | loss {history.loss[-1]:.4f}"
            message += "".join(f" | {name} {value:.4f}" for name, value in means.items())
            if "regularization" in means:
                message += f" | beta {weight:.3f}"
            if validation is not None:
                score, mrr = evaluate_network(network, validation)
                history.validation_scores.append(score)
                message += f" | valid R@20 {score:.4f} MRR@20 {mrr:.4f}"
                if score > history.best_score + tol:
                    history.best_score, history.best_epoch, stale = score, epoch, 0
                    best_state = copy.deepcopy(network.state_dict())
                else:
                    stale += 1
            history.seconds.append(time.perf_counter() - started)
            if verbose:
                print(f"{message} | {history.seconds[-1]:.1f} s", flush=True)
            if validation is not None and stale >= n_iter_no_change:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        warnings.warn(
            f"Training interrupted during epoch {len(history.loss) + 1}; keeping the "
            + (
                f"best weights so far (epoch {history.best_epoch})."
                if validation is not None and history.best_epoch > 0
                else "weights of the last complete step."
            ),
            UserWarning,
            stacklevel=2,
        )
    if validation is not None and history.best_epoch > 0:
        network.load_state_dict(best_state)
    network.eval()
    return history, step
