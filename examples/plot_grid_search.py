"""
Tuning β and K with GridSearchCV
================================

β (the weight of the flow term of the loss) and ``K`` (the number of planar flows) are
VASER's two hyper-parameters of note (the paper's section 4.6). Being an ordinary
scikit-learn estimator, :class:`~skvaser.VASERRecommender` is tuned with
:class:`~sklearn.model_selection.GridSearchCV`; three things make the search sound for
sessions:

- ``cv=SessionSplitter(...)`` with ``groups=``: folds of whole sessions, each tested on
  sessions later than those it trained on (an integer ``cv`` would be a plain ``KFold`` over
  blocks of rows, which cuts sessions in two and ignores time order);
- ``scoring=SCORERS``: Recall@20 and MRR@20, the two columns of the published tables,
  computed on ``predict`` over the full item ranking;
- ``refit="recall@20"``: the metric that picks the model refitted on all the data.
"""

# %%
# Data
# ----
from skvaser import sessions_to_prefixes
from skvaser.datasets import make_sessions

X, y, groups = sessions_to_prefixes(
    *make_sessions(n_sessions=1500, n_items=300, random_state=0), max_len=20
)
print(X.shape)

# %%
# The search
# ----------
# ``n_flows=0`` is the plain Gaussian posterior (as in the paper's VRM baseline), so the grid also
# measures what the flows add. Each fit trains for a few epochs only: enough to compare the
# settings on this small problem, not to reach the model's best accuracy. ``n_jobs`` would
# run fits in parallel processes (mind the cores: each fit also uses torch's threads).
from sklearn.model_selection import GridSearchCV

from skvaser import SCORERS, SessionSplitter, VASERRecommender

vaser = VASERRecommender(
    embedding_dim=32,
    hidden_size=32,
    latent_dim=16,
    beta_annealing_steps=30,
    max_iter=5,
    handle_unknown="ignore",  # items first clicked in a test fold are skipped, silently
    random_state=0,
)
param_grid = {"beta": [0.05, 0.2, 1.0], "n_flows": [0, 4, 16]}
search = GridSearchCV(
    vaser,
    param_grid,
    scoring=SCORERS,
    refit="recall@20",
    cv=SessionSplitter(n_splits=2),
    n_jobs=1,
)
search.fit(X, y, groups=groups)
print("best:", search.best_params_, f"Recall@20 {search.best_score_:.3f}")

# %%
# ``cv_results_`` holds one row per setting, with the mean and spread of each scorer over the
# folds (``mean_test_recall@20``, ``std_test_mrr@20``, ...).
results = search.cv_results_
for params, recall, mrr in zip(
    results["params"], results["mean_test_recall@20"], results["mean_test_mrr@20"]
):
    print(f"beta={params['beta']:<5} K={params['n_flows']:<3} "
          f"Recall@20 {recall:.3f}  MRR@20 {mrr:.3f}")

# %%
# Heat maps
# ---------
# One cell per (β, K), annotated with the mean over the folds.
import matplotlib.pyplot as plt
import numpy as np

betas, flows = param_grid["beta"], param_grid["n_flows"]


def as_grid(metric):
    """(beta, K) table of the mean test score of ``metric`` (rows: beta, columns: K)."""
    table = np.empty((len(betas), len(flows)))
    for params, value in zip(results["params"], results[f"mean_test_{metric}"]):
        table[betas.index(params["beta"]), flows.index(params["n_flows"])] = value
    return table


fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
for ax, metric, label, cmap in zip(
    axes, ["recall@20", "mrr@20"], ["Recall@20", "MRR@20"], ["viridis", "magma"]
):
    table = as_grid(metric)
    image = ax.imshow(table, cmap=cmap, origin="lower", aspect="auto")
    for i in range(len(betas)):
        for j in range(len(flows)):
            light = table[i, j] < table.min() + 0.6 * (table.max() - table.min())
            ax.text(j, i, f"{table[i, j]:.3f}", ha="center", va="center",
                    color="white" if light else "black")
    ax.set_xticks(range(len(flows)), [str(k) for k in flows])
    ax.set_yticks(range(len(betas)), [str(b) for b in betas])
    ax.set_xlabel("number of planar flows K (n_flows)")
    ax.set_ylabel("β (beta)")
    ax.set_title(f"{label}, mean over the test folds")
    fig.colorbar(image, ax=ax, shrink=0.85, label=label)
plt.show()

# %%
# The refitted model
# ------------------
# ``best_estimator_`` was refitted on all rows with the best setting; it predicts like any
# recommender.
print(search.best_estimator_)
print(search.best_estimator_.predict(X[:2])[:, :5])
