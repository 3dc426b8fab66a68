"""
=========================================
Text data and compact sparse node weights
=========================================

On TF-IDF rows (sparse, non-negative, unit norm) the default node model is
:class:`~hiercls.linear.OneVsRestLinearSVC`. Each node is fitted on the columns its
rows use and kept as a :class:`~hiercls.sparse_linear.SparseLinearModel`: only
those columns and their non-zero weights, so the model's size follows its non-zero
weights rather than nodes x features. ``weight_threshold`` drops the small weights.
"""

# %%
from hiercls import HierarchicalClassifier
from hiercls.datasets import (
    make_hierarchical_text,
    train_test_split_hierarchical,
)

X, Y = make_hierarchical_text(
    6000, branching=(5, 5, 8), n_features=20_000, random_state=3
)
X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
    X, Y, test_size=0.25, random_state=0
)
print(X.shape, f"{X.nnz / X.shape[0]:.0f} non-zeros per row")

clf = HierarchicalClassifier(sufficiency_policy="ignore", random_state=0).fit(
    X_train, Y_train
)
node = clf.estimators_[0]
print(
    type(node).__name__,
    f"{node.n_weights} weights, {node.nbytes / 1e3:.0f} kB",
)

# %%
# ``weight_threshold`` against accuracy and size
# ----------------------------------------------
# The one-vs-rest models drop weights below ``weight_threshold`` (0.1 by default;
# 0 keeps them all). Leaf accuracy barely moves while the stored weights shrink.
import matplotlib.pyplot as plt

from hiercls.linear import OneVsRestLinearSVC
from hiercls.metrics import leaf_accuracy

thresholds = [0.0, 0.05, 0.1, 0.2, 0.4]
weights, accuracy = [], []
for threshold in thresholds:
    model = HierarchicalClassifier(
        OneVsRestLinearSVC(weight_threshold=threshold),
        sufficiency_policy="ignore",
        random_state=0,
    ).fit(X_train, Y_train)
    weights.append(
        sum(m.n_weights for m in model.estimators_ if hasattr(m, "n_weights"))
    )
    accuracy.append(leaf_accuracy(Y_test, model.predict(X_test)))
    print(
        f"weight_threshold={threshold}: {weights[-1]:,} weights, "
        f"leaf accuracy {accuracy[-1]:.3f}"
    )

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(thresholds, [w / 1e3 for w in weights], marker="o", color="#1f77b4")
ax.set_xlabel("weight_threshold")
ax.set_ylabel("stored weights (thousands)", color="#1f77b4")
ax2 = ax.twinx()
ax2.plot(thresholds, accuracy, marker="s", color="#d62728")
ax2.set_ylabel("leaf accuracy", color="#d62728")
ax2.set_ylim(0, 1)
ax.set_title("Pruning node weights")
fig.tight_layout()
