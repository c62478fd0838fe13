"""
Serving recommendations to live sessions
========================================

The path from a shop's click log to the call a web service makes for each visitor: string
SKUs in, a model fitted and saved, loaded again in a fresh process, then asked "what next?"
after every click of a session, with scores, for a new visitor, with the visitor's own items
kept out and with only the items in stock allowed.
"""

# %%
# A click log with the shop's own ids
# -----------------------------------
# The synthetic generator gives integer item ids; a shop has SKUs. Item ids are the user's
# own, as class labels are a classifier's: skvaser learns them in ``fit`` and returns them
# from ``predict``. String ids are padded with a value that is no item, here ``None``.
import numpy as np

from skvaser import NARMRecommender, sessions_to_prefixes
from skvaser.datasets import make_sessions

session_ids, item_ids, timestamps = make_sessions(n_sessions=3000, n_items=300, random_state=0)
skus = np.array([f"SKU-{item:05d}" for item in item_ids], dtype=object)
X, y, groups = sessions_to_prefixes(session_ids, skus, timestamps, max_len=10,
                                    padding_value=None)
print(X[:2, -4:], y[:2])

# %%
# Fit, and save the model
# -----------------------
# joblib (or pickle) is the usual way to save a scikit-learn estimator; it records the
# skvaser version and warns when loaded under another one. Loading a pickle runs code from
# the file, so for files that come from elsewhere, :func:`skvaser.persistence.dump` writes
# plain arrays and JSON that :func:`skvaser.persistence.load` reads without executing
# anything.
import tempfile
from pathlib import Path

import joblib

from skvaser.persistence import dump

model = NARMRecommender(
    embedding_dim=32, hidden_size=32, max_iter=5, padding_value=None, handle_unknown="ignore",
    n_recommendations=5, random_state=0,
).fit(X, y)
folder = Path(tempfile.mkdtemp())
joblib.dump(model, folder / "narm.joblib")
dump(model, folder / "narm.npz")
print(f"{model.n_items_} items, e.g. {model.items_[:3]}")

# %%
# A fresh process loads it and answers the same
# ---------------------------------------------
# The service is another process: it loads the file and gets the very items and scores the
# fitting process got.
import subprocess
import sys

# the most recent session whose recommendations repeat one of its own items
for session_id in np.unique(session_ids)[::-1]:
    session = list(skus[session_ids == session_id])
    if np.isin(model.predict(model.make_queries([session]))[0], session).any():
        break
script = f"""
from skvaser.persistence import load
model = load({str(folder / "narm.npz")!r})
items, scores = model.predict(model.make_queries([{session!r}]), return_scores=True)
print(list(items[0]), scores[0].round(4).tolist())
"""
print(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                     check=True).stdout.strip())
items, scores = model.predict(model.make_queries([session]), return_scores=True)
print(list(items[0]), scores[0].round(4).tolist())

# %%
# Click by click
# --------------
# ``make_queries`` turns the clicks so far (any number, none included) into a query row of the
# fitted width. The scores are the logits of the softmax over all items: comparable across
# the items of one call, usable to blend or threshold.
service = joblib.load(folder / "narm.joblib")
for t in range(len(session) + 1):
    items, scores = service.predict(service.make_queries([session[:t]]), return_scores=True)
    shown = ", ".join(f"{item} ({score:.2f})" for item, score in zip(items[0][:3], scores[0]))
    print(f"after {t} clicks: {shown}")

# %%
# A new visitor, the visitor's own items, and what is in stock
# ------------------------------------------------------------
# A session with no click yet (or only unknown items) gets the most clicked items, with NaN
# scores. ``exclude_seen`` keeps a session's own items out; ``allowed_items`` restricts one
# call to the items in stock. Both filter inside the ranking, so five items still come back.
new_visitors = service.predict(service.make_queries([[], ["SKU-NEW"]]), return_scores=True)
for who, items, scores in zip(["no click yet:", "unknown item:"], *new_visitors):
    print(who, items, scores)

print("repeats allowed: ", service.predict(service.make_queries([session]))[0])
service.set_params(exclude_seen=True)
print("own items out:   ", service.predict(service.make_queries([session]))[0])
in_stock = service.items_[::4]
service.set_params(exclude_seen=False)
print("in stock only:   ", service.predict(service.make_queries([session]),
                                           allowed_items=in_stock)[0])

# %%
# The figure: what each filter leaves
# -----------------------------------
# The scores of the five recommendations of the last session under each setting.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3))
for label, kwargs, exclude in (("all items", {}, False), ("own items out", {}, True),
                               ("in stock", {"allowed_items": in_stock}, True)):
    service.set_params(exclude_seen=exclude)
    _, scores = service.predict(service.make_queries([session]), return_scores=True, **kwargs)
    ax.plot(range(1, 6), scores[0], marker="o", label=label)
ax.set_xlabel("rank")
ax.set_ylabel("score (logit)")
ax.legend()
fig.tight_layout()
