"""
=======================
Batch scoring of a file
=======================

:func:`hiercls.batch.predict_file` scores a CSV or Parquet file of any size with a
saved model, in chunks, into numbered output parts with a manifest (a killed job
resumes from the first missing part) and a summary with a drift score per level.
The ``hiercls-predict`` command does the same from the shell.
"""

# %%
# Save a model as an artifact
# ---------------------------
# ``training_data`` stores the training class mix, the baseline of the drift report.
import tempfile
from pathlib import Path

from hiercls import HierarchicalClassifier
from hiercls.artifacts import save_model
from hiercls.datasets import make_hierarchical_classification

X, Y = make_hierarchical_classification(
    3000, n_levels=2, branching=4, as_frame=True, random_state=0
)
clf = HierarchicalClassifier(sufficiency_policy="ignore", random_state=0).fit(
    X, Y
)

work = Path(tempfile.mkdtemp())
artifact = save_model(clf, work / "model", training_data=(X, Y))

# %%
# A file to score, drawn from a shifted distribution so that the class mix drifts.
X_new, _ = make_hierarchical_classification(
    5000,
    n_levels=2,
    branching=4,
    as_frame=True,
    random_state=0,
    tail_exponent=2.0,
)
X_new.insert(0, "row_id", range(len(X_new)))
X_new.to_parquet(work / "new_rows.parquet")

# %%
# Score it in chunks
# ------------------
import textwrap

from hiercls.batch import predict_file

summary = predict_file(
    work / "model",
    work / "new_rows.parquet",
    work / "scored",
    chunk_rows=1000,
    top_k=2,
    id_columns=["row_id"],
    quiet=True,
)
print(textwrap.fill(summary.line(), 79))
names = sorted(p.name for p in (work / "scored").iterdir())
print("\n".join(name for name in names if not name.startswith(".")))

# %%
# The output is one table, in input row order.
import pandas as pd

scored = pd.read_parquet(work / "scored")
scored.head()

# %%
# Running the same call again finds every part in place and scores nothing.
again = predict_file(
    work / "model",
    work / "new_rows.parquet",
    work / "scored",
    chunk_rows=1000,
    top_k=2,
    id_columns=["row_id"],
    quiet=True,
)
print(
    f"rows scored now: {again.rows_scored_now}, "
    f"parts written now: {again.parts_written_now}"
)

# %%
# Drift of the predicted class mix
# --------------------------------
# Per level, a population stability index (PSI) compares the predicted class shares
# with the model's predictions on its training data (below 0.1 is usually read as
# stable, above 0.25 as a major shift). The new file has a longer tail of leaf
# sizes, so the mix has moved.
import matplotlib.pyplot as plt
import numpy as np

for drift in summary.drift:
    print(f"{drift.level}: PSI {drift.psi:.3f}")

changes = summary.drift[-1].largest_changes
x = np.arange(len(changes))
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.bar(
    x - 0.2, [c.baseline_share for c in changes], width=0.4, label="training"
)
ax.bar(
    x + 0.2, [c.predicted_share for c in changes], width=0.4, label="this file"
)
ax.set_xticks(x, [str(c.label) for c in changes])
ax.set_ylabel("share of predictions")
ax.set_title(f"Largest shifts at {summary.drift[-1].level}")
ax.legend()
fig.tight_layout()
