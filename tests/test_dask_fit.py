"""Node fits on a Dask cluster through joblib's dask backend equal local fits."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from hiercls import HierarchicalClassifier
from hiercls.datasets import make_hierarchical_classification

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_dask_backend_fits_the_same_models(client, sparse, monkeypatch):
    X, Y = make_hierarchical_classification(600, n_levels=3, branching=3, n_features=12, random_state=0)
    if sparse:
        X = sp.csr_matrix(np.where(X > 0.5, X, 0.0))
    scattered = []
    original_scatter = client.scatter

    def counting_scatter(data, *args, **kwargs):
        scattered.append(data)
        return original_scatter(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", counting_scatter)
    model = LogisticRegression(max_iter=500)
    with joblib.parallel_config(backend="dask"):
        on_dask = HierarchicalClassifier(model, n_jobs=2, random_state=0).fit(X, Y)
    local = HierarchicalClassifier(model, n_jobs=1, random_state=0).fit(X, Y)

    fitted = [(a, b) for a, b in zip(on_dask.estimators_, local.estimators_, strict=True) if b is not None]
    assert sum(hasattr(b, "coef_") for _, b in fitted) > 3
    for a, b in fitted:
        assert type(a) is type(b)
        if hasattr(b, "coef_"):
            dense = [c.toarray() if sp.issparse(c) else c for c in (a.coef_, b.coef_)]
            np.testing.assert_array_equal(*dense)
            np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(on_dask.predict(X), local.predict(X))
    # X went to the cluster once, not once per node task.
    assert sum(item is X for item in scattered) == 1


def test_fit_backend_runs_node_fits_on_the_engine_cluster(client, monkeypatch):
    from hiercls.batch import DaskEngine, LocalEngine
    from hiercls.parallel import fit_backend

    X, Y = make_hierarchical_classification(400, n_levels=2, branching=4, random_state=1)
    submitted = []
    original_submit = client.submit

    def counting_submit(*args, **kwargs):
        submitted.append(args[0])
        return original_submit(*args, **kwargs)

    monkeypatch.setattr(client, "submit", counting_submit)
    # liblinear (the default node model) seeds a process-wide C RNG: threads of one
    # process would race for it, so compare with a deterministic solver here.
    model = LogisticRegression(max_iter=500)
    with fit_backend(DaskEngine(client=client)):
        on_dask = HierarchicalClassifier(model, random_state=0).fit(X, Y)  # n_jobs=None: all
    assert submitted, "no node fit reached the cluster"
    with fit_backend(LocalEngine()):
        local = HierarchicalClassifier(model, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(on_dask.predict_proba(X)[1], local.predict_proba(X)[1])


def test_fit_backend_starts_and_closes_a_local_cluster():
    from hiercls.batch import DaskEngine
    from hiercls.parallel import fit_backend

    X, Y = make_hierarchical_classification(200, n_levels=2, branching=3, random_state=2)
    with fit_backend(DaskEngine(n_workers=1, processes=False)):
        clf = HierarchicalClassifier(random_state=0).fit(X, Y)
        client = distributed.get_client()
    assert client.status in ("closed", "closing")
    assert clf.score(X, Y) > 0.5
