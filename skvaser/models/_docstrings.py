"""Parameter descriptions shared by the neural recommenders' docstrings (defined once)."""

ARCHITECTURE = """\
embedding_dim : int, default=50
        Size of the item embeddings (shared by input and output, as in NARM).
    hidden_size : int, default=100
        Units of the GRU.
    embedding_dropout : float, default=0.25
        Dropout on the click embeddings.
    context_dropout : float, default={context_dropout}
        Dropout on the representation fed to the bilinear decoder."""

#: The ``batching`` parameter of the models with NARM's encoder (after ``attention``).
BATCHING = """\
batching : {{"prefixes", "sessions"}}, default="{batching}"
        How training batches are made. ``"prefixes"``: every prefix is a row of its own,
        shuffled across sessions, and the GRU runs over each prefix. ``"sessions"``: the
        prefixes ``[x1]``, ``[x1, x2]``, ... of one session (rows of ``X`` where one row is
        another followed by its ``y``, whatever their order) are rows of the same batch, and
        the GRU runs once over the session, so an epoch's recurrent work is the sessions'
        clicks rather than the sum of the prefix lengths; each row's attention still sees its
        own clicks only, so a prefix gets the same encoding either way."""

TRAINING = """\
max_iter : int, default={max_iter}
        Maximum number of epochs.
    batch_size : int, default=512
        Prefixes per optimiser step. Batches hold no padding: with ``batching="prefixes"`` (and
        in the models without ``batching``) each holds prefixes of one length; with
        ``batching="sessions"`` each holds whole sessions of one length, about ``batch_size``
        prefixes (fewer than ``batch_size + max_len``).
    learning_rate_init : float, default={learning_rate_init}
        Adam's initial step size.
    learning_rate_decay : float or "linear", default={learning_rate_decay}
        Factor applied to the step size after every epoch. ``"linear"``: the step size falls
        after every optimiser step instead, linearly from ``learning_rate_init`` to 0 at the end
        of the ``max_iter`` epochs; it reaches a given accuracy in fewer epochs than a factor
        (``docs/user_guide/tuning.rst``).
    early_stopping : bool, default=False
        Hold out the most recent ``validation_fraction`` of the rows (rows of ``X`` are in time
        order), stop when their Recall@20 stops improving and restore the best weights. Off by
        default: the most recent rows are the most telling about the next sessions, and holding
        them out costs accuracy (measured in ``benchmarks/HISTORY.md``, section 1).
    validation_fraction : float, default=0.1
        Share of the (most recent) rows held out when ``early_stopping``.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without an improvement greater than ``tol`` before stopping.
    tol : float, default=1e-4
        Minimal improvement of the validation Recall@20.
    n_negatives : int, default=0
        0 trains with the full softmax over every item (the paper's). A positive number trains
        each batch against its own targets plus ``n_negatives`` shared negatives, drawn with
        replacement from the items' popularity raised to ``sample_alpha`` (through
        ``random_state``), with the log-Q correction: every candidate's logit is lowered by the
        log of its expected number of copies among the batch's candidates, so that the scores
        stay comparable across items and prediction, which always ranks the whole catalogue,
        is consistent. A copy of a row's target among its negatives is left out of that row's
        softmax. The item tables then get sparse gradients and a lazy Adam
        (:class:`~skvaser.nn.lazy_adam.LazyAdam`, :class:`torch.optim.SparseAdam`'s update: only
        the rows a step reads, and their moments, are updated), so a step costs the batch, not
        the catalogue: for catalogues of 10**5 items and more. ``n_negatives`` at least the
        number of items trains with the full softmax.
        See :mod:`skvaser.nn.sampled_softmax`.
    sample_alpha : float, default=0.75
        Exponent of the popularity (the count of each item as a training target) that the
        negatives are drawn from: 0 draws uniformly from the catalogue, 1 as often as items are
        clicked (GRU4Rec's ``sample_alpha``; its default). With ``sample_alpha > 0`` an item
        that is never a training target is never a negative. Unused when ``n_negatives=0``.
    label_smoothing : float, default={label_smoothing}
        Share ``eps`` of each target's probability mass spread evenly over all items: the
        softmax is trained towards ``(1 - eps) * one_hot(target) + eps / n_items`` (as
        :class:`torch.nn.CrossEntropyLoss`'s ``label_smoothing``), which keeps it from growing
        ever more confident on the training clicks. With ``n_negatives`` the mean score over
        the items that this needs is estimated from the batch's candidates (weighted by one
        over their expected copies). Not for GRU4Rec's ``loss="bpr_max"``.
    ema_decay : float in [0, 1), default={ema_decay}
        The fitted network holds an exponential moving average of the weights over the
        optimiser steps, not the last step's weights; 0 keeps the last step's. After step ``t``
        the average moves towards the weights by ``1 - min(ema_decay, (1 + t) / (10 + t))``, so
        that a fit of few steps forgets the initial weights too. ``early_stopping`` scores and
        keeps the averaged weights. The item tables of a sampled softmax (``n_negatives``) are
        not averaged (that would cost the whole catalogue at every step): they hold their
        trained values.
    device : str or torch.device, default="auto"
        ``"auto"`` trains on CUDA when a GPU is present, else on the CPU; the resolved device is
        ``device_``. Any other value names the device: the CPU, a CUDA device (``"cuda:1"``) or
        this machine's own accelerator; one not available here raises a ValueError. A
        ``warm_start`` fit continues on the device named now.
    matmul_precision : {{"auto", "float32", "bfloat16"}}, default="auto"
        Precision of the large matrix products of a training step: the scores of the full
        softmax over all items and their two gradient products, and VASER's heads that produce
        the amortised flows. ``"bfloat16"`` rounds their inputs and the scores to bfloat16 and
        accumulates in float32; the softmax computes in float32 and keeps its probabilities in
        bfloat16 (gradients within about 1 % of float32's); the weights, the optimiser and the
        predictions stay float32. ``"auto"`` takes bfloat16 on a CPU with bfloat16 dot-product
        instructions (AVX512-BF16 or AMX), where a training step takes less CPU time at the
        same accuracy (``benchmarks/README.md``), and float32 elsewhere (CUDA included); the
        choice is ``matmul_precision_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, dropout, latent noise and batch order through private
        ``torch.Generator`` objects. An int or a RandomState leaves the global RNGs of torch
        and NumPy untouched; None draws the seed from NumPy's, as scikit-learn does. A
        ``warm_start`` fit seeds from ``random_state`` as it is then.
    verbose : int, default=0
        Progress of ``fit`` on standard output. 0: silent. 1: one line per epoch, starting with
        the estimator's name and ``epoch i/N``: the mean loss and its terms, the validation
        Recall@20/MRR@20 (with ``early_stopping``), training samples per second, the epoch's
        time, the time elapsed and an estimate of the time left (an upper bound with
        ``early_stopping``, which may stop sooner); with ``early_stopping``, a line when it
        stops training and one naming the epoch whose weights are kept. 2 and above: also
        progress within each epoch, as a progress bar on a terminal and as a plain line at
        every tenth of the epoch elsewhere (a log file, CI).
    warm_start : bool, default=False
        Continue training the fitted network (same vocabulary) instead of starting anew: each
        fit trains ``max_iter`` more epochs, its schedule starting again from
        ``learning_rate_init``."""

ATTRIBUTES = """\
items_ : ndarray of shape (n_items,)
        Item ids known from training, sorted; predictions are drawn from them.
    n_items_ : int
        Number of known items.
    n_features_in_ : int
        Width ``max_len`` of the prefixes seen in ``fit``.
    device_ : torch.device
        Device the network lives on.
    matmul_precision_ : str
        Precision the large training products ran in: ``"float32"`` or ``"bfloat16"``.
    network_ : torch.nn.Module
        The trained network (pickled as CPU tensors).
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean training loss per epoch.
    loss_terms_ : list of dict
        Mean of each loss term per epoch (``reconstruction``, and ``regularization`` for
        variational models).
    validation_scores_ : list of float or None
        Validation Recall@20 per epoch (None without early stopping), aligned with
        ``loss_curve_``: NaN for the epochs of an earlier ``warm_start`` fit without it.
    best_validation_score_ : float or None
        Best validation Recall@20; its weights are the ones kept. A ``warm_start`` fit counts
        the weights it starts with among its candidates, scored on its own validation rows."""
