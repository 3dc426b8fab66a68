"""
===========================================
Sufficiency check and the rare-class report
===========================================

A class needs on the order of 100 examples to be learned. Before training,
:func:`~hiercls.check_sufficiency` counts the rows of every class (every node of
the tree); after training, :func:`~hiercls.reports.rare_class_report` shows how
the rare classes fared, level by level. Leaf sizes here follow a long-tailed power
law, as in most real label spaces.
"""

# %%
# Before training: which classes are too rare?
# --------------------------------------------
import textwrap

from hiercls import check_sufficiency
from hiercls.datasets import (
    make_hierarchical_classification,
    train_test_split_hierarchical,
)

X, Y = make_hierarchical_classification(
    4000,
    n_levels=3,
    branching=(4, 4, 5),
    tail_exponent=1.2,
    as_frame=True,
    random_state=0,
)
X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
    X, Y, test_size=0.3, random_state=0
)

report = check_sufficiency(Y_train, min_samples=20)
print(textwrap.fill(report.summary(), 79))
report.insufficient[["level", "path", "support", "status"]].head()

# %%
# Train with a policy
# -------------------
# ``sufficiency_policy="merge"`` folds each class below ``min_samples`` into its
# parent: its rows stop there, and the model predicts the parent instead of
# guessing among leaves it cannot learn. ``"warn"`` (the default) trains anyway,
# ``"raise"`` refuses to train.
from hiercls import HierarchicalClassifier

clf = HierarchicalClassifier(
    min_samples=20, sufficiency_policy="merge", random_state=0
)
clf.fit(X_train, Y_train)
print(
    f"{len(clf.sufficiency_report_.merged)} classes merged into their parents"
)
print(clf.predict(X_test[:4]))

# %%
# After training: the rare-class report
# -------------------------------------
# Classes are bucketed by training support; per bucket and level the report gives
# the macro recall and F1, plus the worst classes and the calibration of each level.
# ``report.write("report/")`` saves it as Markdown, CSV, JSON and HTML.
from hiercls.reports import plot_recall_vs_support, rare_class_report

rare = rare_class_report(
    Y_test,
    clf.predict(X_test),
    Y_train=Y_train,
    min_samples=20,
    buckets=(10, 20, 100),
    proba=clf.predict_proba(X_test),
    classes=clf.classes_,
)
columns = ["level", "bucket", "n_classes", "test_share", "macro_recall"]
rare.per_bucket.loc[rare.per_bucket["n_classes"] > 0, columns].round(3)

# %%
# Recall of each class against its training support: the shaded band holds the
# rare classes, the step line each bucket's macro recall.
# The merged leaves have a recall of 0: the model predicts their parent instead,
# which counts at the level above.
fig = plot_recall_vs_support(rare)

# %%
# Calibration per level: the mean predicted probability of each confidence bin
# against the share of rows that were right.
from hiercls.reports import plot_reliability

fig_calibration = plot_reliability(rare)
