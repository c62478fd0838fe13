"""
Session encodings of NARM and VASER with t-SNE (the paper's Figure 2)
=====================================================================

Both models rank items by the inner product of one vector per prefix, the *session
encoding*, with the item embeddings. NARM builds it from the GRU's last state and the
attention context, ``B [h_t; c_l]``; VASER from the flows' output and the attention context,
``B [z_K; c_l]``. The paper projects the encodings of 2,048 test sessions with t-SNE and finds
VASER's more spread out, which it reads as sessions that are easier to tell apart.

This example draws the same picture on synthetic sessions with
:class:`sklearn.manifold.TSNE`, colouring each test prefix by the item that followed it.
"""

# %%
# Train both models on the same sessions
# --------------------------------------
from skvaser import NARMRecommender, SessionSplitter, VASERRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions

X, y, groups = sessions_to_prefixes(
    *make_sessions(n_sessions=3000, n_items=400, random_state=3), max_len=20
)
train, test = next(SessionSplitter(n_splits=1, test_size=600).split(X, y, groups))

# items clicked only in the test sessions are skipped in the prefixes, silently
common = dict(embedding_dim=32, hidden_size=64, max_iter=10, handle_unknown="ignore",
              random_state=0)
narm = NARMRecommender(**common).fit(X[train], y[train])
vaser = VASERRecommender(**common, latent_dim=32, n_flows=4, beta_annealing_steps=50)
vaser.fit(X[train], y[train])
print(f"NARM  Recall@20 {narm.score(X[test], y[test]):.3f}")
print(f"VASER Recall@20 {vaser.score(X[test], y[test]):.3f}")

# %%
# Session encodings
# -----------------
# :meth:`~skvaser.VASERRecommender.encode` returns, for each prefix, the vector that is
# scored against the item embeddings. It is deterministic: VASER's ``z0`` is the posterior
# mean pushed through the flows, the same encoding that ``predict`` ranks with.
import numpy as np

# The test prefixes whose next click is one of the eight most frequent targets, and as many
# others (in grey) for context: about 2,000 points.
rng = np.random.default_rng(0)
targets, counts = np.unique(y[test], return_counts=True)
frequent = targets[np.argsort(-counts)[:8]]
coloured = np.flatnonzero(np.isin(y[test], frequent))
others = rng.choice(np.flatnonzero(~np.isin(y[test], frequent)), len(coloured), replace=False)
rows = test[np.r_[coloured, others]]
encodings = {name: model.encode(X[rows])
             for name, model in [("NARM", narm), ("VASER", vaser)]}
print({name: e.shape for name, e in encodings.items()})

# %%
# t-SNE of each model's encodings
# -------------------------------
from sklearn.manifold import TSNE

projected = {
    name: TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(e)
    for name, e in encodings.items()
}

# %%
# Plot
# ----
# Each point is a test prefix; the colour is the item clicked next (grey: any other item).
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")
n_coloured = len(coloured)
palette = [plt.get_cmap("tab10")(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]  # no grey
for ax, (name, points) in zip(axes, projected.items()):
    ax.scatter(*points[n_coloured:].T, s=6, color="lightgrey", label="other next items")
    for i, item in enumerate(frequent):
        mine = np.flatnonzero(y[rows[:n_coloured]] == item)
        ax.scatter(*points[mine].T, s=10, color=palette[i], label=f"next item {item}")
    ax.set_title(f"{name}: t-SNE of the session encodings")
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="outside right center", markerscale=2)
plt.show()

# %%
# Prefixes followed by the same item gather where a model has learnt what predicts that
# item. The spread of the whole cloud is what the paper compares: a model whose encodings
# spread out separates sessions better. t-SNE distorts distances and densities, so compare
# the two panels' structure, not their scales; a quantitative companion is the accuracy
# printed above.
