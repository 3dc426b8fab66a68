"""
=========================================
Per-level models and the top-k best paths
=========================================

Each level may have its own kind of node model: ``level_estimators`` maps a level
name to the model that chooses among that level's labels. Here a k-nearest
neighbours model picks the coarse groups and logistic regression the finer
classes. :meth:`~hiercls.HierarchicalClassifier.predict_top_k` then returns the
``k`` most probable complete paths of each row, found exactly.
"""

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from hiercls import HierarchicalClassifier
from hiercls.datasets import (
    make_hierarchical_classification,
    train_test_split_hierarchical,
)

X, Y = make_hierarchical_classification(
    3000, n_levels=3, branching=(3, 4, 5), as_frame=True, random_state=1
)
X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
    X, Y, test_size=0.3, random_state=0
)

clf = HierarchicalClassifier(
    LogisticRegression(max_iter=1000),
    level_estimators={"level0": KNeighborsClassifier(n_neighbors=15)},
    sufficiency_policy="ignore",
    random_state=0,
).fit(X_train, Y_train)

# %%
# The parameters of a level's model are reachable as ``<level>__<parameter>``,
# for ``GridSearchCV`` as for a ``Pipeline``'s steps.
print(clf.get_params()["level0__n_neighbors"])
print(
    type(clf.estimators_[0]).__name__
)  # the root chooses among level-0 labels

# %%
# The three most probable paths of two rows
# -----------------------------------------
top = clf.predict_top_k(X_test[:2], k=3)
for row in range(2):
    print(f"true: {' > '.join(Y_test.iloc[row])}")
    for labels, p in zip(top.labels[row], top.proba[row], strict=True):
        print(f"  {' > '.join(labels)}  {p:.3f}")

# %%
# How often is the true path among the k best?
# --------------------------------------------
# The first path equals ``decoding="best_path"``'s prediction; with a few more
# candidates the true path is almost always among them.
import matplotlib.pyplot as plt
import numpy as np

k_max = 10
top = clf.predict_top_k(X_test, k=k_max)
true_paths = Y_test.to_numpy(dtype=object)
hit = (top.labels == true_paths[:, None, :]).all(axis=2)
recall_at_k = hit.cumsum(axis=1).clip(0, 1).mean(axis=0)

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, k_max + 1), recall_at_k, marker="o")
ax.set_xlabel("k")
ax.set_ylabel("true path among the k best")
ax.set_ylim(0, 1.02)
ax.set_title("Top-k recall of complete paths")
fig.tight_layout()
