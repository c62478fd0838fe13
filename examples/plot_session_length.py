"""
Accuracy by session length (the paper's Figure 3)
=================================================

Are long sessions harder? The paper compares VASER with its two strongest baselines, NARM and
STAMP, on the test cases grouped by the length of their session, and finds the accuracy of
all three falling as sessions grow longer. The same breakdown needs nothing but ``groups``:
every test row knows its session, and a session of ``L`` clicks has ``L - 1`` rows.
"""

# %%
# Data and models
# ---------------
# Item-KNN (similar items to the last click) joins the three neural models as a
# non-sequential reference.
from skvaser import (
    ItemKNNRecommender,
    NARMRecommender,
    SessionSplitter,
    STAMPRecommender,
    VASERRecommender,
    sessions_to_prefixes,
)
from skvaser.datasets import make_sessions

X, y, groups = sessions_to_prefixes(
    *make_sessions(n_sessions=3000, n_items=400, random_state=2), max_len=20
)
train, test = next(SessionSplitter(n_splits=1, test_size=800).split(X, y, groups))

# items clicked only in the test sessions are skipped in the prefixes, silently
training = dict(max_iter=10, handle_unknown="ignore", random_state=0)
models = {
    "Item-KNN": ItemKNNRecommender(handle_unknown="ignore"),
    "STAMP": STAMPRecommender(embedding_dim=48, **training),
    "NARM": NARMRecommender(embedding_dim=32, hidden_size=64, **training),
    "VASER": VASERRecommender(
        embedding_dim=32, hidden_size=64, latent_dim=32, n_flows=4, beta_annealing_steps=50,
        **training,
    ),
}
ranked = {}
for name, model in models.items():
    ranked[name] = model.fit(X[train], y[train]).predict(X[test])

# %%
# Group the test cases by session length
# --------------------------------------
import numpy as np

sessions, rows_per_session = np.unique(groups[test], return_counts=True)
length = dict(zip(sessions, rows_per_session + 1))
session_length = np.array([length[g] for g in groups[test]])
bins = [(2, 2), (3, 3), (4, 4), (5, 6), (7, 9), (10, 14), (15, None)]
labels = [f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi else f"≥{lo}") for lo, hi in bins]
in_bin = [(session_length >= lo) & (session_length <= (hi or np.inf)) for lo, hi in bins]
print("test cases per bin:", dict(zip(labels, [int(m.sum()) for m in in_bin])))

# %%
# Recall@20 and MRR@20 in each bin, per model
# -------------------------------------------
from skvaser import mrr_at_k, recall_at_k

recall = {n: [recall_at_k(y[test][m], ranked[n][m]) for m in in_bin] for n in models}
mrr = {n: [mrr_at_k(y[test][m], ranked[n][m]) for m in in_bin] for n in models}
for name in models:
    overall = recall_at_k(y[test], ranked[name]), mrr_at_k(y[test], ranked[name])
    print(f"{name:<9} overall Recall@20 {overall[0]:.3f}  MRR@20 {overall[1]:.3f}")

import matplotlib.pyplot as plt

markers = {"Item-KNN": "x", "STAMP": "^", "NARM": "s", "VASER": "o"}
tick_labels = [f"{label}\n({int(m.sum())})" for label, m in zip(labels, in_bin)]
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for ax, scores, metric in zip(axes, [recall, mrr], ["Recall@20", "MRR@20"]):
    for name in models:
        ax.plot(range(len(bins)), scores[name], marker=markers[name], label=name)
    ax.set_xticks(range(len(bins)), tick_labels)
    ax.set_xlabel("session length in clicks (test cases)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"{metric} by session length")
    ax.grid(alpha=0.3)
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=len(models))
plt.show()

# %%
# Whether accuracy falls with length, as the paper finds on YOOCHOOSE, or rises depends on the
# data: the synthetic generator keeps one latent intent per session, so a longer session
# reveals its intent better. The cases of one session are not independent, and the
# long-session bins hold few sessions, so their points wobble more. A *prefix*-length
# breakdown (how many clicks the model has seen) is the same computation with
# ``(X[test] != -1).sum(axis=1)`` in place of the session length.
