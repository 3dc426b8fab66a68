"""
=================================
Fit and predict a label hierarchy
=================================

A :class:`~hiercls.HierarchicalClassifier` learns a tree of classifiers from label
paths: ``Y`` has one column per level, coarse to fine. Here the data is a random
three-level tree with 4 children per node (4, 16 and 64 classes per level) drawn by
:func:`~hiercls.datasets.make_hierarchical_classification`.
"""

# %%
# Data: one column of ``Y`` per level
# -----------------------------------
from hiercls.datasets import (
    make_hierarchical_classification,
    train_test_split_hierarchical,
)

X, Y = make_hierarchical_classification(
    3000, n_levels=3, branching=4, class_sep=1.5, as_frame=True, random_state=0
)
X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
    X, Y, test_size=0.3, random_state=0
)
Y_train.head()

# %%
# Fit
# ---
# One model per parent node, each trained only on the rows that pass through it.
# Without an ``estimator`` the node model is chosen by the input: for 2,100 rows of
# dense numbers like these, ``LogisticRegression``; from 5,000 rows on, each level's
# model is chosen on held-out rows (``"auto"``). Many leaves have
# fewer rows than the default ``min_samples=100``; ``sufficiency_policy="ignore"``
# trains without the warning (see the sufficiency example for the other policies).
from hiercls import HierarchicalClassifier

clf = HierarchicalClassifier(sufficiency_policy="ignore", random_state=0).fit(
    X_train, Y_train
)
print(clf.levels_)
print([len(labels) for labels in clf.classes_])

# %%
# Predict paths and probabilities
# -------------------------------
# ``predict`` walks each row down from the root, taking the most probable child;
# ``predict_paths`` adds the probability of every predicted node, and
# ``predict_proba`` gives the exact marginal probability of every label, one array
# per level.
print(clf.predict(X_test[:3]))
paths = clf.predict_paths(X_test[:3])
print(paths.level_proba.round(3))
proba = clf.predict_proba(X_test[:3])
print([p.shape for p in proba])

# %%
# Accuracy per level
# ------------------
# Finer levels have more, closer classes, so accuracy falls with depth;
# hierarchical F1 gives credit for the right ancestors of a wrong leaf.
import matplotlib.pyplot as plt

from hiercls.metrics import hierarchical_f1, per_level_accuracy

Y_pred = clf.predict(X_test)
accuracy = per_level_accuracy(Y_test, Y_pred)
print(
    f"exact-path accuracy {clf.score(X_test, Y_test):.3f}, "
    f"hierarchical F1 {hierarchical_f1(Y_test, Y_pred):.3f}"
)

fig, ax = plt.subplots(figsize=(5, 3))
accuracy.plot.bar(ax=ax, color="#1f77b4", rot=0)
ax.set_ylim(0, 1)
ax.set_ylabel("accuracy")
ax.set_title("Accuracy of the predicted path, per level")
fig.tight_layout()
