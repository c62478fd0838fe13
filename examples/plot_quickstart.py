"""
Quick start: train VASER and rank the next click
================================================

The whole workflow in a few lines: generate click sessions, expand them into
*prefix → next click* samples, hold out the most recent sessions, train a
:class:`~skvaser.VASERRecommender`, recommend, and score Recall@20 and MRR@20 under the
full-ranking protocol of the paper.
"""

# %%
# Sessions become samples
# -----------------------
# :func:`~skvaser.datasets.make_sessions` returns a click log: one entry per click, with the
# session, the item and the time. :func:`~skvaser.sessions_to_prefixes` expands each session
# ``[x1, ..., xN]`` into the ``N - 1`` samples ``[x1..xt] -> x(t+1)``: ``X`` holds the
# prefixes, left-padded with ``-1`` (newest click last), ``y`` the click that followed and
# ``groups`` the session of each row.
from skvaser import sessions_to_prefixes
from skvaser.datasets import make_sessions

session_ids, item_ids, timestamps = make_sessions(n_sessions=3000, n_items=400, random_state=0)
X, y, groups = sessions_to_prefixes(session_ids, item_ids, timestamps, max_len=20)
print(f"{len(item_ids)} clicks -> X {X.shape}, y {y.shape}")
print(X[:3, -6:], y[:3])

# %%
# Hold out the most recent sessions
# ---------------------------------
# Split by session and by time, never by row: prefixes of one session must not sit on both
# sides, and the model must not train on the future. With ``n_splits=1``,
# :class:`~skvaser.SessionSplitter` gives one split whose test set is the last ``test_size``
# sessions.
from skvaser import SessionSplitter

train, test = next(SessionSplitter(n_splits=1, test_size=600).split(X, y, groups))
X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
print(f"{len(train)} training prefixes, {len(test)} test prefixes")

# %%
# Train VASER
# -----------
# The paper's sizes (embeddings 50, GRU 100, latent 100, ``K = 16`` flows) are the defaults;
# here smaller ones keep the example fast. ``beta_annealing_steps`` counts optimiser steps,
# so it is scaled down with the data: β rises from 0 to ``beta`` over the first epochs.
# ``early_stopping=True`` holds out the most recent 10 % of the training rows, stops when
# their Recall@20 stops improving and keeps the best weights. It is off by default (the most
# recent rows tell the most about the sessions to come, so by default every row trains for
# ``max_iter`` epochs); here it shows how training progresses.
#
# Some items are clicked only in the test sessions, so the model never learnt them. By
# default ``predict`` skips such clicks in a prefix and warns how many it skipped;
# ``handle_unknown="ignore"`` skips them silently, as this protocol (and the paper's) expects.
from skvaser import VASERRecommender

model = VASERRecommender(
    embedding_dim=32,
    hidden_size=64,
    latent_dim=32,
    n_flows=4,
    beta=0.2,
    beta_annealing_steps=100,
    max_iter=15,
    early_stopping=True,
    handle_unknown="ignore",
    random_state=0,
)
model.fit(X_train, y_train)
print(f"{model.n_iter_} epochs on {model.device_}, {model.n_items_} items known")

# %%
# Recommend and score
# -------------------
# ``predict`` ranks every known item and returns the best ``n_recommendations`` (20) item
# ids per prefix, best first. Recall@20 is the share of test cases whose next click is among
# them; MRR@20 the mean of ``1 / rank`` (0 beyond rank 20).
from skvaser import mrr_at_k, recall_at_k

recommended = model.predict(X_test)
print("prefix:", X_test[0][X_test[0] >= 0], "-> next:", y_test[0])
print("top 5 :", recommended[0, :5])
print(f"Recall@20 {recall_at_k(y_test, recommended, k=20):.3f}")
print(f"MRR@20    {mrr_at_k(y_test, recommended, k=20):.3f}")

# %%
# What training did
# -----------------
# ``loss_terms_`` keeps the two parts of the loss per epoch: the reconstruction term (the
# cross-entropy of the next click) and the flow regulariser of Eq. 9, which β weighs;
# ``validation_scores_`` the Recall@20 of the held-out rows that early stopping watched.
import matplotlib.pyplot as plt

epochs = range(1, model.n_iter_ + 1)
fig, (ax_loss, ax_valid) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
ax_loss.plot(epochs, [t["reconstruction"] for t in model.loss_terms_], "o-",
             label="reconstruction (cross-entropy)")
ax_loss.plot(epochs, [t["regularization"] for t in model.loss_terms_], "s-",
             label="flow regulariser (Eq. 9)")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("mean loss term per prefix")
ax_loss.set_title("Training loss terms")
ax_loss.legend()
ax_valid.plot(epochs, model.validation_scores_, "o-", color="C2")
best = model.validation_scores_.index(model.best_validation_score_) + 1
ax_valid.axvline(best, color="grey", linestyle=":", label=f"kept weights (epoch {best})")
ax_valid.set_xlabel("epoch")
ax_valid.set_ylabel("Recall@20")
ax_valid.set_title("Validation (most recent 10 % of training rows)")
ax_valid.legend(loc="lower right")
plt.show()
