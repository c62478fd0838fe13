"""Issue 18's candidates that are not parameters of VASER, on validation data.

    python benchmarks/vaser_candidates.py posterior-samples [--seeds 0]
    python benchmarks/vaser_candidates.py dropout-samples [--seeds 0]
    python benchmarks/vaser_candidates.py context-posterior [--seeds 0]
    python benchmarks/vaser_candidates.py weight-averages [--seeds 0] [--set PARAM=VALUE ...]
    python benchmarks/vaser_candidates.py repeat-bonus [--seeds 0]
    python benchmarks/vaser_candidates.py cosine-scores [--seeds 0]
    python benchmarks/vaser_candidates.py repeats [--seeds 0]
    python benchmarks/vaser_candidates.py item-bias [--seeds 0]
    python benchmarks/vaser_candidates.py positions [--seeds 0]
    python benchmarks/vaser_candidates.py weight-decay [--seeds 0] [--weight-decay 0.02]
    python benchmarks/vaser_candidates.py sknn-teacher [--seeds 0] [--teacher-weight 0.2] [--vote]
    python benchmarks/vaser_candidates.py recent-twice [--seeds 0] [--recent-fraction 0.25]

All twelve fit on the validation split of ``vaser.py --validation`` (the training sessions but the
most recent 10 %, scored on every prefix of those 10 %; the test split is never read) and print
Recall@20 / MRR@20 (%), to read against ``VASERRecommender()``'s figures of the same seed
(``benchmarks/HISTORY.md``, sections 17 and 20).

``posterior-samples`` fits the defaults and ranks the prefixes by the mean of the softmax
probabilities of S draws ``z0 = mu + sigma * eps`` pushed through the flows (S = 1, 4, 16),
beside ``predict``'s ``z0 = mu``; it also prints ``||sigma|| / ||mu||`` over the prefixes.

``dropout-samples`` fits the defaults and ranks the prefixes by the mean of the softmax
probabilities of S passes with the training's dropout on (the click embeddings' and the
decoder input's; Monte Carlo dropout, Gal & Ghahramani, 2016), ``z0 = mu``, for S = 1, 4, 16,
to read beside the fit's line (``predict``'s deterministic pass); it also ranks by the mean of
the S passes' scores.

``context-posterior`` fits VASER whose attention context has a posterior of its own, as the
paper's Figure 2 draws it: ``c0 ~ N(m(c_l), s(c_l))`` pushed through ``n_flows`` amortised
planar flows of ``c_l``, the decoder reading ``[z_K; c_K]`` (the network is swapped in for this
run only; its heads start as the identity, like ``q(z)``'s).

``weight-averages`` fits VASER (the defaults but ``ema_decay=0``, or those with ``--set``) and,
after some epochs, scores averages of its weights beside the weights themselves: exponential
moving averages over the optimiser steps (``EMA_DECAYS``, as ``ema_decay`` keeps them) and the
plain mean of the weights at the end of each of the last epochs (``SWA_EPOCHS``). The fit
itself is untouched: the averages are kept beside it and swapped in only to be scored, so its
"trained weights" rows are those of ``ema_decay=0``.

``repeat-bonus`` fits VASER (on batches of prefixes, as when it was measured, unless
``--set batching=...`` says otherwise) whose score of an item already in the prefix gets a
learned bonus (RepeatNet's re-click mode, made additive): the sum over that item's clicks of
``age_bonus[clicks ago] + gate(d)``, ``d`` the decoder's input, both starting at 0 so the
network starts as VASER. It trains with a dense softmax in the products' precision (the
blocked one takes no bonus), so its epochs are slower. ``predict`` ranks without the bonus
(the fit's line); the split printed after it ranks with it.

``cosine-scores`` fits VASER whose scores are NISER's ``16 * cos(E_i, B d)`` (Gupta et al.,
2019): the query and the item vectors normalised to unit length for scoring, in training and in
``predict``; the encoder still reads the raw item embeddings.

``repeats`` fits the defaults and splits their Recall@20 / MRR@20 between the prefixes whose
next click is one of their own clicks and the others; then adds a constant bonus (in logits,
``REPEAT_BONUSES``) to the scores of each prefix's items after training, as a cheap upper look
at what ``repeat-bonus`` can gain. ``repeat-bonus`` prints the same split.

``item-bias`` fits VASER whose score of item ``i`` adds a learned bias ``b_i`` (starting at 0):
``E_i^T B d + b_i``, in training and in ``predict``, written as one more coordinate of the
query (a constant 1) and of the item vectors (``b``), so that the blocked softmax takes it as
it is. It prints the repeat split, since a bias can only move the items the prefix has not
clicked.

``positions`` fits VASER whose attention knows how many clicks ago each click was (the
reversed position embeddings of Wang et al., 2020, GCE-GNN): ``alpha_tj = v^T sigmoid(A1 h_t +
A2 h_j + p_{L-j})``, ``p`` learned per position from the end (``MAX_LEN`` of them), starting at
0 so the network starts as VASER.

``weight-decay`` fits the defaults with AdamW's decoupled weight decay (Loshchilov & Hutter,
2019) on every weight matrix (the item table included; biases and flow vectors excluded): before
each step, ``W <- (1 - lr * weight_decay) W`` with the step's own step size.

``sknn-teacher`` fits VASER whose smoothed targets hold V-SKNN's ranking too (distillation from
a neighbourhood model, the inside of ``VotingRecommender``'s vote): a training prefix's target
distribution is ``(1 - eps - w) one_hot + eps / n_items + w p``, ``p`` V-SKNN's top
``TEACHER_ITEMS`` scores of the prefix, normalised to sum to one. Like the uniform smoothing it
adds ``w (s_target - sum_j p_j s_j)`` to the cross-entropy, so the blocked softmax is untouched.
V-SKNN is cross-fitted: the training sessions fall in ``TEACHER_FOLDS`` folds at random, and
each fold's prefixes are scored by a V-SKNN (defaults) fitted on the other folds, so a prefix's
own session is never its neighbour. Prefixes are matched to their teacher rows by a hash of
their codes; a prefix repeated in several sessions takes the first one's.

``recent-twice`` fits the defaults on the training sessions with their most recent
``--recent-fraction`` (by first click) given twice, as sessions of new ids: the shop's latest
taste counts twice in every epoch (the epochs are as much longer).

``--vote`` fits the candidate's VASER as a member of ``VotingRecommender`` beside V-SKNN (both
with their defaults, as ``benchmarks/voting.py`` fits them) and prints the VASER alone, V-SKNN
alone and their vote with ``VotingRecommender()``'s weights 3 : 1.
"""

import argparse
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _data import DATA_HELP, data_file, validation_split  # benchmarks/ is the script's folder
from _machine import describe
from vaser import parameter

from skvaser import (
    SessionKNNRecommender,
    VASERRecommender,
    VotingRecommender,
    mrr_at_k,
    recall_at_k,
    sessions_to_prefixes,
)
from skvaser._items import ItemIndex
from skvaser.evaluation import evaluate_recommender, load_train_test
from skvaser.nn import trainer
from skvaser.nn.base import sessions_of
from skvaser.nn.batching import PrefixBatches
from skvaser.nn.flows import PlanarFlowParameters, planar_flows
from skvaser.nn.layers import seeded_dropout
from skvaser.nn.vaser import VASERNetwork, gaussian_heads

SAMPLES = (1, 4, 16)
EMA_DECAYS = (0.999, 0.9997)
SWA_EPOCHS = (5, 10)  # the mean of the weights after each of the last 5 or 10 epochs
SCORED_EPOCHS = (6, 8, 10, 12, 14, 16, 18, 20)
COSINE_SCALE = 16.0
REPEAT_BONUSES = (0.0, -1.0, 0.5, 1.0, 2.0)
MAX_LEN = 30  # the prefixes' length, as sessions_to_prefixes cuts them
TEACHER_ITEMS = 50
TEACHER_FOLDS = 4
HASH_MODULI = (2_147_483_647, 2_147_483_629)  # two primes below 2**31: a 62-bit key
HASH_BASE = 1_000_003
VOTE_WEIGHTS = [3, 1]  # VotingRecommender()'s, VASER : V-SKNN


def clicks_ago(sequences):
    """How many clicks before the last each of the L steps of ``sequences`` (B, L, ...) is, capped
    at ``MAX_LEN - 1``: LongTensor (L,), ``L - 1`` down to 0."""
    length = sequences.shape[1]
    return torch.arange(length - 1, -1, -1, device=sequences.device).clamp(max=MAX_LEN - 1)


class ContextPosteriorNetwork(VASERNetwork):
    """VASER with ``q(c_K | c_l)`` beside ``q(z_K | h_t)``; the decoder reads ``[z_K; c_K]``."""

    def __init__(self, n_items, **arguments):
        super().__init__(n_items, **arguments)
        hidden_size, n_flows = arguments["hidden_size"], arguments["n_flows"]
        self.c_mean, self.c_log_var = gaussian_heads(hidden_size, hidden_size)
        self.c_flows = PlanarFlowParameters(n_flows, hidden_size, hidden_size, True)

    def _latent(self, x, generator):
        h_t, c_l = self.encoder(x, self.embedding_dropout, generator)
        z, z_term = self._posterior(h_t, self.mean, self.log_var, self.flows, generator)
        c, c_term = self._posterior(c_l, self.c_mean, self.c_log_var, self.c_flows, generator)
        decoded = torch.cat([z, c], dim=1)
        decoded = seeded_dropout(decoded, self.context_dropout, generator, self.training)
        if not self.training:
            return decoded, None
        return decoded, (z_term + c_term) / decoded.shape[1]


class RepeatBonusNetwork(VASERNetwork):
    """VASER whose scores add a learned bonus to the items of the prefix."""

    def __init__(self, n_items, **arguments):
        super().__init__(n_items, **arguments)
        self.age_bonus = torch.nn.Parameter(torch.zeros(MAX_LEN))  # by clicks ago, newest first
        self.gate = torch.nn.Linear(self.bilinear.in_features, 1)
        torch.nn.init.zeros_(self.gate.weight)
        torch.nn.init.zeros_(self.gate.bias)

    def scores(self, x, decoded):
        """(B, n_items) scores of prefixes ``x`` (B, L) (codes, 0 = padding) decoded as ``d``."""
        dtype = self.product_dtype if self.training and self.product_dtype else decoded.dtype
        query, weights = self.bilinear(decoded), self.item_weights()
        scores = (query.to(dtype) @ weights.to(dtype).T).to(decoded.dtype)
        bonus = (self.age_bonus[clicks_ago(x)][None, :] + self.gate(decoded)) * (x > 0)
        return scores.scatter_add(1, (x - 1).clamp(min=0), bonus)

    def loss_terms(self, x, y, generator):
        decoded, regularization = self._latent(x, generator)
        return {
            "reconstruction": F.cross_entropy(
                self.scores(x, decoded), y - 1, label_smoothing=self.label_smoothing
            ),
            "regularization": regularization.mean(),
        }


class CosineScoresNetwork(VASERNetwork):
    """VASER scoring ``COSINE_SCALE * cos(E_i, B d)``."""

    def query(self, x, generator=None):
        return COSINE_SCALE * F.normalize(super().query(x, generator), dim=1)

    def item_weights(self):
        return F.normalize(super().item_weights(), dim=1)

    def reconstruction(self, query, y, sessions=None):  # VASER's queries: normalise them here
        return super().reconstruction(COSINE_SCALE * F.normalize(query, dim=1), y, sessions)


class ItemBiasNetwork(VASERNetwork):
    """VASER scoring ``E_i^T B d + b_i``: the query gains a coordinate 1, the items ``b``."""

    def __init__(self, n_items, **arguments):
        super().__init__(n_items, **arguments)
        self.item_bias = torch.nn.Parameter(torch.zeros(n_items, 1))

    def query(self, x, generator=None):
        return self._with_one(super().query(x, generator))

    def item_weights(self):
        return torch.cat([super().item_weights(), self.item_bias], dim=1)

    def reconstruction(self, query, y, sessions=None):  # VASER's queries: extend them here
        return super().reconstruction(self._with_one(query), y, sessions)

    @staticmethod
    def _with_one(query):
        return torch.cat([query, query.new_ones(len(query), 1)], dim=1)


class RecencyProjection(torch.nn.Module):
    """NARM's ``A2 h_j`` plus a learned vector per position from the end, ``p_{L-j}``."""

    def __init__(self, a2):
        super().__init__()
        self.a2 = a2
        self.positions = torch.nn.Parameter(torch.zeros(MAX_LEN, a2.out_features))

    def forward(self, states):  # (B, L, H)
        return self.a2(states) + self.positions[clicks_ago(states)]


class PositionsNetwork(VASERNetwork):
    """VASER whose attention adds reversed position embeddings to ``A2 h_j``."""

    def __init__(self, n_items, **arguments):
        super().__init__(n_items, **arguments)
        self.encoder.a2 = RecencyProjection(self.encoder.a2)


def running_prefix_keys(codes):
    """A 62-bit hash of the clicks of each row of ``codes`` (B, L) up to each column, padding
    (leading zeros) left out: int64 (B, L), numpy or torch, equal for equal clicks."""
    columns, keys = [], [codes[:, 0] * 0 for _ in HASH_MODULI]
    for column in range(codes.shape[1]):
        keys = [(key * HASH_BASE + codes[:, column]) % modulus
                for key, modulus in zip(keys, HASH_MODULI)]
        columns.append(keys[0] * HASH_MODULI[1] + keys[1])
    return torch.stack(columns, 1) if torch.is_tensor(codes) else np.stack(columns, 1)


class SKNNTeacherNetwork(VASERNetwork):
    """VASER trained against targets smoothed towards V-SKNN's ranking (:data:`TEACHER`)."""

    def loss_terms(self, x, y, generator):
        decoded, regularization = self._latent(x, generator)
        query = self.bilinear(decoded)
        reconstruction = self.reconstruction(query, y, sessions_of(x))
        items, probabilities = TEACHER.lookup(running_prefix_keys(x.codes)[x.session, x.step])
        weights = self.item_weights()
        teacher_scores = torch.einsum("bd,bkd->bk", query, weights[items])
        target_scores = (query * weights[y - 1]).sum(dim=1)
        margin = target_scores * probabilities.sum(dim=1) - (probabilities * teacher_scores).sum(1)
        return {
            "reconstruction": reconstruction + TEACHER.weight * margin.mean(),
            "regularization": regularization.mean(),
        }


class Teacher:
    """V-SKNN's cross-fitted top items of every training prefix, by :func:`running_prefix_keys`."""

    weight = 0.0

    def fit(self, X, y, groups, seed):
        started = time.perf_counter()
        index = ItemIndex(np.unique(np.concatenate([X[X != -1], y])))
        sessions, session_of_row = np.unique(groups, return_inverse=True)
        fold = np.random.default_rng(seed).integers(TEACHER_FOLDS, size=len(sessions))[
            session_of_row
        ]
        items = np.zeros((len(X), TEACHER_ITEMS), dtype=np.int64)
        probabilities = np.zeros((len(X), TEACHER_ITEMS), dtype=np.float32)
        for f in range(TEACHER_FOLDS):
            rows = fold == f
            sknn = SessionKNNRecommender(n_recommendations=TEACHER_ITEMS)
            sknn.fit(X[~rows], y[~rows], groups=groups[~rows])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # items of this fold alone: not seen in its fit
                ranked, scores = sknn.predict(X[rows], return_scores=True)
            scores = np.where(np.isfinite(scores), scores, 0.0)
            total = scores.sum(axis=1, keepdims=True)
            probabilities[rows] = np.divide(scores, total, out=np.zeros_like(scores),
                                            where=total > 0)
            items[rows] = np.maximum(index.encode(ranked) - 1, 0)
        keys, first = np.unique(running_prefix_keys(index.encode(X))[:, -1], return_index=True)
        self.keys = torch.from_numpy(keys)
        self.items = torch.from_numpy(items[first])
        self.probabilities = torch.from_numpy(probabilities[first])
        covered = (self.probabilities.sum(dim=1) > 0).float().mean()
        print(f"teacher: {len(X)} prefixes, {len(keys)} distinct, {100 * covered:.1f} % with "
              f"V-SKNN neighbours, {time.perf_counter() - started:.0f} s", flush=True)

    def lookup(self, keys):
        """Teacher items (B, TEACHER_ITEMS) and probabilities of prefixes, by key."""
        rows = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        if not torch.equal(self.keys[rows], keys):
            raise RuntimeError("a training prefix has no teacher row")
        return self.items[rows], self.probabilities[rows]


TEACHER = Teacher()

#: The candidates that swap in a network of their own.
NETWORKS = {
    "context-posterior": ContextPosteriorNetwork,
    "repeat-bonus": RepeatBonusNetwork,
    "cosine-scores": CosineScoresNetwork,
    "item-bias": ItemBiasNetwork,
    "positions": PositionsNetwork,
    "sknn-teacher": SKNNTeacherNetwork,
}


@torch.no_grad()
def print_repeat_split(model, X, y, name, scores):
    """Print Recall@20 / MRR@20 (%) of the rankings by ``scores(network, x)`` (B, n_items) over
    all prefixes, over those whose target is one of their clicks, and over the others."""
    network = model.network_.eval()
    top = torch.empty((len(X), 20), dtype=torch.int64)
    for rows, x, _ in PrefixBatches(model._codes_to_rank(X), None, 1024, model.device_):
        top[rows] = scores(network, x).topk(20, dim=1).indices
    ranked = model.items_[top.numpy()]
    repeats = (X == y[:, None]).any(axis=1)
    split = [(ranked, y), (ranked[repeats], y[repeats]), (ranked[~repeats], y[~repeats])]
    figures = [f"{100 * recall_at_k(t, r):.2f} / {100 * mrr_at_k(t, r):.2f}" for r, t in split]
    print(f"{name}: {figures[0]}; targets among the clicks ({100 * repeats.mean():.1f} %) "
          f"{figures[1]}, the others {figures[2]}", flush=True)


def with_repeat_bonus(bonus):
    """``scores`` for :func:`print_repeat_split`: VASER's, plus ``bonus`` for the prefix's items."""

    def scores(network, x):
        scores = ranking_scores(network, x)
        padded = torch.cat([scores, scores.new_zeros(len(x), 1)], dim=1)
        columns = torch.where(x > 0, x - 1, scores.shape[1])  # padding: the extra column
        padded.scatter_(1, columns, padded.gather(1, columns) + bonus)
        return padded[:, :-1]

    return scores


def ranking_scores(network, x):
    """``scores`` for :func:`print_repeat_split`: the network's own, as ``predict`` ranks."""
    return network.query(x) @ network.item_weights().T


def learned_repeat_bonus(network, x):
    """``scores`` for :func:`print_repeat_split` of a :class:`RepeatBonusNetwork`."""
    return network.scores(x, network._latent(x, None)[0])


@torch.no_grad()
def posterior_samples(model, X, y, seed):
    """Print Recall@20 / MRR@20 of rankings averaged over S posterior samples."""
    network = model.network_.eval()
    weights = network.item_weights()
    generator = torch.Generator(model.device_).manual_seed(seed)
    top = {S: torch.empty((len(X), 20), dtype=torch.int64, device=model.device_)
           for S in (0, *SAMPLES)}
    ratios = torch.empty(len(X), device=model.device_)
    for rows, x, _ in PrefixBatches(model._codes_to_rank(X), None, 1024, model.device_):
        h_t, c_l = network.encoder(x, 0.0, None)
        mean, sigma = network.mean(h_t), torch.exp(0.5 * network.log_var(h_t))
        ratios[rows] = sigma.norm(dim=1) / mean.norm(dim=1)
        flows = network.flows(h_t)

        def probabilities(z0):
            decoded = torch.cat([planar_flows(z0, *flows)[0], c_l], dim=1)
            return torch.softmax(network.bilinear(decoded) @ weights.T, dim=1)

        top[0][rows] = probabilities(mean).topk(20, dim=1).indices
        total = 0
        for drawn in range(1, max(SAMPLES) + 1):
            noise = torch.randn(mean.shape, generator=generator, device=mean.device)
            total = total + probabilities(mean + sigma * noise)
            if drawn in SAMPLES:
                top[drawn][rows] = total.topk(20, dim=1).indices
    ratios = ratios.cpu().numpy()
    print(f"||sigma|| / ||mu||: median {np.median(ratios):.3f}, "
          f"90th percentile {np.quantile(ratios, 0.9):.3f}")
    print_rankings(model, y, {
        f"S = {S}{' (predict: the posterior mean)' if S == 0 else ''}": ranked
        for S, ranked in top.items()
    })


def print_rankings(model, y, rankings):
    """Print Recall@20 / MRR@20 (%) of each ranking: label -> item columns (n, 20) on the
    model's device."""
    for label, ranked in rankings.items():
        ranked = model.items_[ranked.cpu().numpy()]
        print(f"{label}: {100 * recall_at_k(y, ranked, k=20):.2f} / "
              f"{100 * mrr_at_k(y, ranked, k=20):.2f}", flush=True)


@torch.no_grad()
def dropout_samples(model, X, y, seed):
    """Print Recall@20 / MRR@20 of rankings averaged over S passes with dropout on."""
    network = model.network_.eval()
    weights = network.item_weights()
    generator = torch.Generator(model.device_).manual_seed(seed)
    top = {(S, mean): torch.empty((len(X), 20), dtype=torch.int64, device=model.device_)
           for S in SAMPLES for mean in ("probabilities", "scores")}
    for rows, x, _ in PrefixBatches(model._codes_to_rank(X), None, 1024, model.device_):
        probabilities = scores = 0
        for drawn in range(1, max(SAMPLES) + 1):
            network.encoder.train()  # the click embeddings' dropout, and nothing else
            h_t, c_l = network.encoder(x, network.embedding_dropout, generator)
            network.encoder.eval()
            z = network.mean(h_t)
            z = planar_flows(z, *network.flows(h_t))[0]
            decoded = seeded_dropout(torch.cat([z, c_l], dim=1), network.context_dropout,
                                     generator, True)
            sample = network.bilinear(decoded) @ weights.T
            scores = scores + sample
            probabilities = probabilities + torch.softmax(sample, dim=1)
            if drawn in SAMPLES:
                top[drawn, "probabilities"][rows] = probabilities.topk(20, dim=1).indices
                top[drawn, "scores"][rows] = scores.topk(20, dim=1).indices
    print_rankings(model, y, {
        f"S = {S}, mean of the {mean}": ranked for (S, mean), ranked in top.items()
    })


class WeightAverages:
    """Averages of ``network``'s parameters kept beside its training, scored after some epochs.

    ``after_step`` follows every optimiser step, ``after_epoch`` every epoch (the scheduler's
    step); ``score()`` swaps each average into the network, scores it with ``predict``
    and swaps the trained weights back.
    """

    def __init__(self, model, network, X, y, max_iter):
        self.model, self.X, self.y, self.max_iter = model, X, y, max_iter
        self.parameters = list(network.parameters())
        assert not any(b.is_floating_point() for b in network.buffers())
        self.emas = {decay: trainer._WeightAverage(network, decay, 0) for decay in EMA_DECAYS}
        self.epoch_ends = []  # the weights after each epoch, only the last max(SWA_EPOCHS) kept
        self.epoch = 0

    def after_step(self):
        for ema in self.emas.values():
            ema.update()

    @torch.no_grad()
    def after_epoch(self):
        self.epoch += 1
        self.epoch_ends.append([p.detach().clone() for p in self.parameters])
        del self.epoch_ends[: -max(SWA_EPOCHS)]
        if self.epoch in SCORED_EPOCHS or self.epoch == self.max_iter:
            self.score()

    @torch.no_grad()
    def score(self):
        self._print_scores("trained weights")
        for decay, ema in self.emas.items():
            with ema.swapped_in():
                self._print_scores(f"EMA {decay}")
        trained = [p.detach().clone() for p in self.parameters]
        for n in SWA_EPOCHS:
            if len(self.epoch_ends) >= n:
                means = [torch.stack(ends).mean(dim=0) for ends in zip(*self.epoch_ends[-n:])]
                torch._foreach_copy_(self.parameters, means)
                self._print_scores(f"mean of last {n} epochs")
        torch._foreach_copy_(self.parameters, trained)

    def _print_scores(self, name):
        ranked = self.model.predict(self.X)
        print(f"  epoch {self.epoch:2d}, {name:22s} {100 * recall_at_k(self.y, ranked):.2f} / "
              f"{100 * mrr_at_k(self.y, ranked):.2f}", flush=True)


def fit_with_averages(model, train, X, y):
    """Fit ``model`` on ``train`` sessions keeping :class:`WeightAverages` scored on ``X``, ``y``;
    return the fit's seconds (the scoring of the averages included)."""
    adam, step_sizes = trainer._adam, trainer._step_sizes
    kept = {}

    def adam_with_averages(network, learning_rate):
        optimizer = adam(network, learning_rate)
        kept["averages"] = WeightAverages(model, network, X, y, model.max_iter)
        # plain or sparse Adam (with a sampled softmax) alike: after the last part's step
        last = getattr(optimizer, "parts", [optimizer])[-1]
        last.register_step_post_hook(lambda *_: kept["averages"].after_step())
        return optimizer

    def step_sizes_with_averages(optimizer, learning_rate_decay, total_steps):
        scheduler, per_step = step_sizes(optimizer, learning_rate_decay, total_steps)
        if per_step:
            raise ValueError("weight-averages scores after each epoch: give a per-epoch factor "
                             "as learning_rate_decay")
        epoch = scheduler.step
        scheduler.step = lambda: (epoch(), kept["averages"].after_epoch())
        return scheduler, per_step

    X_train, y_train, _ = sessions_to_prefixes(*train, max_len=30)
    trainer._adam, trainer._step_sizes = adam_with_averages, step_sizes_with_averages
    started = time.perf_counter()
    try:
        model.fit(X_train, y_train)
    finally:
        trainer._adam, trainer._step_sizes = adam, step_sizes
    return time.perf_counter() - started


def adam_with_weight_decay(weight_decay):
    """``trainer._adam`` whose optimiser first shrinks the weight matrices by
    ``1 - lr * weight_decay`` each step (AdamW's decoupled decay)."""
    adam = trainer._adam

    def build(network, learning_rate):
        optimizer = adam(network, learning_rate)
        matrices = [p for p in network.parameters() if p.ndim >= 2]
        first = getattr(optimizer, "parts", [optimizer])[0]  # the dense Adam, stepped first

        def decay(*_):
            with torch.no_grad():
                torch._foreach_mul_(matrices, 1.0 - first.param_groups[0]["lr"] * weight_decay)

        first.register_step_pre_hook(decay)
        return optimizer

    return build


def with_recent_twice(train, fraction):
    """``train`` with its most recent ``fraction`` of sessions appended again under new ids."""
    _, (sessions, items, times) = validation_split(train, fraction)
    again = (sessions + train[0].max() + 1, items, times)
    print(f"{len(np.unique(sessions))} of {len(np.unique(train[0]))} training sessions "
          f"({len(items)} clicks) given twice", flush=True)
    return tuple(np.concatenate(pair) for pair in zip(train, again))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "candidate",
        choices=[
            "posterior-samples", "dropout-samples", "context-posterior", "weight-averages",
            "repeat-bonus", "cosine-scores", "repeats", "item-bias", "positions", "weight-decay",
            "sknn-teacher", "recent-twice",
        ],
    )
    parser.add_argument("--weight-decay", type=float, default=0.02,
                        help="AdamW's decoupled decay, for the weight-decay candidate")
    parser.add_argument("--teacher-weight", type=float, default=0.2,
                        help="V-SKNN's share of the targets, for the sknn-teacher candidate")
    parser.add_argument("--recent-fraction", type=float, default=0.25,
                        help="the share of training sessions given twice, for recent-twice")
    parser.add_argument("--vote", action="store_true",
                        help="fit the VASER in a vote with V-SKNN and score the vote too")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--set", type=parameter, nargs="+", default=[], metavar="PARAM=VALUE",
        help="parameters of the fitted VASERRecommender",
    )
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    args = parser.parse_args()
    # the network the estimator builds, for this run only
    VASERRecommender._network_class = NETWORKS.get(args.candidate, VASERNetwork)
    if args.candidate == "weight-decay":
        trainer._adam = adam_with_weight_decay(args.weight_decay)
    print(describe(), flush=True)
    train, _, _ = load_train_test(data_file(args.data))
    train, validation = validation_split(train)
    X, y, _ = sessions_to_prefixes(*validation, max_len=30)
    if args.candidate == "recent-twice":
        train = with_recent_twice(train, args.recent_fraction)
    if args.candidate == "sknn-teacher":
        TEACHER.weight = args.teacher_weight
        TEACHER.fit(*sessions_to_prefixes(*train, max_len=MAX_LEN), seed=0)
    for seed in args.seeds:
        if args.candidate == "weight-averages":
            model = VASERRecommender(random_state=seed, **{"ema_decay": 0.0, **dict(args.set)})
            print(f"seed {seed}, weight-averages, {dict(args.set)}", flush=True)
            seconds = fit_with_averages(model, train, X, y)
            print(f"seed {seed}: fit {seconds:.0f} s with the scoring of the averages")
            continue
        # the repeat bonus reads each row's prefix, which batches of sessions do not hold
        prefixes = {"batching": "prefixes"} if args.candidate == "repeat-bonus" else {}
        model = VASERRecommender(random_state=seed, **{**prefixes, **dict(args.set)})
        if args.vote:
            model = VotingRecommender(
                estimators=[("vaser", model), ("sknn", SessionKNNRecommender())],
                weights=VOTE_WEIGHTS,
            )
        result = evaluate_recommender(model, train, validation)
        name = args.candidate + {
            "weight-decay": f" {args.weight_decay}", "sknn-teacher": f" {args.teacher_weight}",
            "recent-twice": f" {args.recent_fraction}",
        }.get(args.candidate, "")
        print(f"seed {seed}, {name}{' voting' * args.vote}: fit {result['fit_seconds']:.0f} s, "
              f"{100 * result['recall']:.2f} / {100 * result['mrr']:.2f}", flush=True)
        if args.vote:
            vote = result["model"]
            for member, weights in (("VASER", [1, 0]), ("V-SKNN", [0, 1])):
                ranked = vote.set_params(weights=weights).predict(X)
                print(f"  {member} alone: {100 * recall_at_k(y, ranked):.2f} / "
                      f"{100 * mrr_at_k(y, ranked):.2f}", flush=True)
            continue
        if args.candidate == "posterior-samples":
            posterior_samples(result["model"], X, y, seed)
        if args.candidate == "dropout-samples":
            dropout_samples(result["model"], X, y, seed)
        if args.candidate == "repeat-bonus":
            network = result["model"].network_
            print_repeat_split(result["model"], X, y, "with the bonus", learned_repeat_bonus)
            print(f"age_bonus[:8] {np.round(network.age_bonus[:8].tolist(), 2).tolist()}, "
                  f"gate norm {network.gate.weight.norm():.2f}, gate bias "
                  f"{network.gate.bias.item():.2f}")
        if args.candidate == "item-bias":
            print_repeat_split(result["model"], X, y, "split", ranking_scores)
            bias = result["model"].network_.item_bias[:, 0]
            print(f"item bias: mean {bias.mean():.3f}, std {bias.std():.3f}")
        if args.candidate == "repeats":
            for bonus in REPEAT_BONUSES:
                print_repeat_split(result["model"], X, y, f"bonus {bonus:+}",
                                   with_repeat_bonus(bonus))


if __name__ == "__main__":
    main()
