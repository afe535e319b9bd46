"""Shared fixtures: small synthetic data and fast GBDT settings so end-to-end tests stay quick."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from smar_ltr.core.openmp_env import bound_openmp_spinning

# Two xdist workers each train 2-thread LightGBM / XGBoost on a 2-core machine: with libgomp's long default spin,
# boosting rounds stall on descheduled threads (smar_ltr.core.openmp_env). Set before any test imports an OpenMP library
# (none of the imports above does); the tests' CLI subprocesses inherit it.
bound_openmp_spinning()

# Hypothesis writes caches (constants, unicode data) to ./.hypothesis even without an example database: tests
# must write nothing into the repository, so its home is a temporary folder removed at exit.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="smar-ltr-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("smar-ltr", database=None)
settings.load_profile("smar-ltr")

#: Small real data sets shipped with the tests (sources and licences: tests/data/README.md).
TEST_DATA = Path(__file__).resolve().parent / "data"

#: Fast settings for end-to-end tests: few small trees.
FAST_GBDT = {
    "n_estimators": 30,
    "learning_rate": 0.2,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "early_stopping_rounds": 10,
}


def fast_config(**fields):
    """A RunConfig on the small synthetic preset with fast GBDTs."""
    from smar_ltr.config import load_config

    base = {
        "dataset": "synthetic",
        "dataset_options": {"size": "small"},
        "single_modal": dict(FAST_GBDT),
        "reranker": dict(FAST_GBDT),
    }
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_config(None, None, **base)


@pytest.fixture(scope="session")
def small_splits():
    from smar_ltr.datasets import load_dataset

    return load_dataset("synthetic", seed=0, size="small")


@pytest.fixture(scope="session")
def fitted_small(small_splits):
    """A SMAR run fitted once per session on the small synthetic data."""
    from smar_ltr.pipeline import fit

    return fit(fast_config(), small_splits)


@pytest.fixture(scope="session")
def census_run(tmp_path_factory):
    """The bad-input census's run: fitted once on the generated ``pages`` fixture with fast GBDTs.

    Returns a dict with ``root``, ``data`` (the page tables), ``run`` (the run folder) and ``config``.
    """
    from census import fast_config, invoke

    from smar_ltr.datasets.fixtures import make_fixture

    root = tmp_path_factory.mktemp("census-run")
    data = root / "pages"
    make_fixture("pages", data)
    cfg = fast_config(root / "fast.json", budget={"budget": 0.3})
    run = root / "run"
    result = invoke(["fit", "-d", "pages", "--data-dir", str(data), "-c", str(cfg), "-o", str(run), "-q"])
    assert result.exit_code == 0, result.output
    return {"root": root, "data": data, "run": run, "config": cfg}


@pytest.fixture(scope="session")
def client():
    """One 2-process Dask cluster for every test that uses it (those tests share the ``dask`` xdist group)."""
    from distributed import Client

    from smar_ltr.distributed.cluster import local_cluster

    with local_cluster(2) as cluster, Client(cluster) as c:
        yield c
