"""Issue 18's candidates that are not parameters of VASER, on validation data.

    python benchmarks/vaser_candidates.py posterior-samples [--seeds 0]
    python benchmarks/vaser_candidates.py context-posterior [--seeds 0]

Both fit on the validation split of ``vaser.py --validation`` (the training sessions but the
most recent 10 %, scored on every prefix of those 10 %; the test split is never read) and print
Recall@20 / MRR@20 (%), to read against ``VASERRecommender()``'s figures of the same seed
(``benchmarks/HISTORY.md``, sections 17 and 20).

``posterior-samples`` fits the defaults and ranks the prefixes by the mean of the softmax
probabilities of S draws ``z0 = mu + sigma * eps`` pushed through the flows (S = 1, 4, 16),
beside ``predict``'s ``z0 = mu``; it also prints ``||sigma|| / ||mu||`` over the prefixes.

``context-posterior`` fits VASER whose attention context has a posterior of its own, as the
paper's Figure 2 draws it: ``c0 ~ N(m(c_l), s(c_l))`` pushed through ``n_flows`` amortised
planar flows of ``c_l``, the decoder reading ``[z_K; c_K]`` (the network is swapped in for this
run only; its heads start as the identity, like ``q(z)``'s).
"""

import argparse

import numpy as np
import torch
from _machine import describe
from itemknn import _validation_split  # benchmarks/ is the script's folder
from vaser import DATA

from skvaser import VASERRecommender, mrr_at_k, recall_at_k, sessions_to_prefixes
from skvaser.evaluation import evaluate_recommender, load_train_test
from skvaser.models import vaser as vaser_module
from skvaser.nn.batching import PrefixBatches
from skvaser.nn.flows import PlanarFlowParameters, planar_flows
from skvaser.nn.layers import seeded_dropout
from skvaser.nn.vaser import VASERNetwork, gaussian_heads

SAMPLES = (1, 4, 16)


class ContextPosteriorNetwork(VASERNetwork):
    """VASER with ``q(c_K | c_l)`` beside ``q(z_K | h_t)``; the decoder reads ``[z_K; c_K]``."""

    def __init__(self, n_items, embedding_dim, hidden_size, latent_dim, n_flows, *args):
        super().__init__(n_items, embedding_dim, hidden_size, latent_dim, n_flows, *args)
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
    for S, ranked in top.items():
        ranked = model.items_[ranked.cpu().numpy()]
        print(f"S = {S}{' (predict: the posterior mean)' if S == 0 else ''}: "
              f"{100 * recall_at_k(y, ranked, k=20):.2f} / {100 * mrr_at_k(y, ranked, k=20):.2f}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", choices=["posterior-samples", "context-posterior"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--data", default=str(DATA / "yoochoose1_64.csv.gz"))
    args = parser.parse_args()
    if args.candidate == "context-posterior":
        vaser_module.VASERNetwork = ContextPosteriorNetwork  # what _build_network builds
    print(describe(), flush=True)
    train, _, _ = load_train_test(args.data)
    train, validation = _validation_split(train)
    X, y, _ = sessions_to_prefixes(*validation, max_len=30)
    for seed in args.seeds:
        result = evaluate_recommender(VASERRecommender(random_state=seed), train, validation)
        print(f"seed {seed}, {args.candidate}: fit {result['fit_seconds']:.0f} s, "
              f"{100 * result['recall']:.2f} / {100 * result['mrr']:.2f}", flush=True)
        if args.candidate == "posterior-samples":
            posterior_samples(result["model"], X, y, seed)


if __name__ == "__main__":
    main()
