"""
Comparing recommenders in a Pipeline
====================================

Recommenders are scikit-learn estimators, so the whole toolbox composes with them. Here a
:class:`~sklearn.pipeline.Pipeline` puts a preprocessing step (keep the last clicks of each
prefix) in front of a recommender, and :func:`~sklearn.model_selection.cross_validate`
compares several recommenders behind it on the same time-ordered folds of sessions, with the
two scores of the published tables.
"""

# %%
# Data
# ----
from skvaser import sessions_to_prefixes
from skvaser.datasets import make_sessions

X, y, groups = sessions_to_prefixes(
    *make_sessions(n_sessions=2500, n_items=300, random_state=4), max_len=20
)
print(X.shape)

# %%
# The pipeline
# ------------
# The first step keeps the newest ``n_clicks`` columns of ``X`` (prefixes are left-padded,
# newest click last, so the last columns are the most recent clicks). It is a
# :class:`~sklearn.preprocessing.FunctionTransformer` of a plain function, so it pickles and
# ``n_clicks`` is a parameter a search can tune (``window__kw_args``). The second step, the
# recommender, is swapped with ``set_params(recommender=...)``.
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer


def last_clicks(X, n_clicks=10):
    """The newest ``n_clicks`` clicks (columns) of left-padded prefixes."""
    return X[:, -n_clicks:]


pipeline = Pipeline([
    ("window", FunctionTransformer(last_clicks, kw_args={"n_clicks": 10})),
    ("recommender", "passthrough"),
])

# %%
# The candidates
# --------------
# Small networks trained for a few epochs, so that the example runs in well under a minute;
# the paper's sizes are the estimators' defaults.
from skvaser import (
    GRU4RecRecommender,
    ItemKNNRecommender,
    NARMRecommender,
    STAMPRecommender,
    VASERRecommender,
)

# items first clicked in a test fold are skipped in its prefixes, silently
neural = dict(embedding_dim=32, max_iter=6, handle_unknown="ignore", random_state=0)
candidates = {
    "Item-KNN": ItemKNNRecommender(handle_unknown="ignore"),
    "GRU4Rec": GRU4RecRecommender(**neural, hidden_size=48),
    "STAMP": STAMPRecommender(**neural),
    "NARM": NARMRecommender(**neural, hidden_size=48),
    "VASER": VASERRecommender(
        **neural, hidden_size=48, latent_dim=32, n_flows=4, beta_annealing_steps=40
    ),
}

# %%
# Cross-validation on time-ordered folds of sessions
# --------------------------------------------------
# ``SessionSplitter(n_splits=2)`` tests on the two most recent thirds of the sessions, each
# time training on everything before. ``groups`` tells it the session of each row;
# ``SCORERS`` holds Recall@20 and MRR@20, computed on ``predict`` through the pipeline.
from sklearn.model_selection import cross_validate

from skvaser import SCORERS, SessionSplitter

cv = SessionSplitter(n_splits=2)
results = {}
for name, recommender in candidates.items():
    results[name] = cross_validate(
        pipeline.set_params(recommender=recommender),
        X,
        y,
        groups=groups,
        cv=cv,
        scoring=SCORERS,
    )
    print(f"{name:<9} Recall@20 {results[name]['test_recall@20'].mean():.3f}  "
          f"MRR@20 {results[name]['test_mrr@20'].mean():.3f}  "
          f"fit {results[name]['fit_time'].mean():.1f} s")

# %%
# Plot
# ----
# Bars are the mean over the folds; the black ticks show each fold. Fit times are wall-clock
# seconds of this run, so they depend on the machine and its load.
import matplotlib.pyplot as plt
import numpy as np

names = list(results)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), layout="constrained")
for ax, key, label in zip(
    axes,
    ["test_recall@20", "test_mrr@20", "fit_time"],
    ["Recall@20", "MRR@20", "fit time (s)"],
):
    values = [results[name][key] for name in names]
    ax.bar(range(len(names)), [v.mean() for v in values], color=[f"C{i}" for i in range(5)])
    for i, folds in enumerate(values):
        ax.plot(np.full(len(folds), i), folds, "_", color="black", markersize=14)
    ax.set_xticks(range(len(names)), names, rotation=30)
    ax.set_ylabel(label)
    ax.set_title(f"{label}, {cv.get_n_splits()} time-ordered folds")
axes[2].set_title("fit time (this build's machine)")
plt.show()

# %%
# Tuning the pipeline
# -------------------
# The window and the recommender are parameters of one estimator, so a search covers both;
# for instance::
#
#     GridSearchCV(
#         pipeline,
#         {"window__kw_args": [{"n_clicks": 5}, {"n_clicks": 20}],
#          "recommender": [NARMRecommender(), VASERRecommender()]},
#         scoring=SCORERS, refit="recall@20", cv=SessionSplitter(n_splits=3),
#     ).fit(X, y, groups=groups)
