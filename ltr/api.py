"""Page-table functions for Python users: ``smar_ltr.fit``, ``smar_ltr.load`` and ``smar_ltr.rerank``.

Thin wrappers over :mod:`smar_ltr.pipeline` and :mod:`smar_ltr.serving.run_dir` that take data (a page table or a
:class:`~smar_ltr.datasets.PageSplits`) and return data (a :class:`~smar_ltr.serving.model.SmarModel`, a scored
DataFrame). Array-level users want :class:`smar_ltr.SMARRanker` instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from smar_ltr.config import RunConfig, from_dict, load_config
from smar_ltr.core.progress import Progress
from smar_ltr.core.settings_io import merge_settings
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.schema import RESERVED_COLUMNS, check_not_datetime, feature_columns
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.serving.model import SmarModel
from smar_ltr.serving.ranking import rerank as rerank_pipeline
from smar_ltr.serving.run_dir import load_run, save_run

#: ``dataset`` name recorded for runs fitted on in-memory page tables.
IN_MEMORY = "in-memory"

if TYPE_CHECKING:
    from distributed import Client

    from smar_ltr.distributed import DaskPages


def _config(config: RunConfig | str | Path | None, settings: dict[str, Any]) -> RunConfig:
    if isinstance(config, RunConfig):
        return from_dict(RunConfig, merge_settings(config.to_dict(), settings)).validate()
    if config is not None and not isinstance(config, str | Path):
        raise ConfigError(f"config must be a RunConfig or the path of a JSON/TOML file, got {type(config).__name__}")
    return load_config(config, None, **settings)


def _splits(
    pages: pd.DataFrame | PageSplits,
    valid: pd.DataFrame | None,
    single_modal_pool: pd.DataFrame | None,
    modal_features: dict[str, list[str]] | None,
    page_features: list[str] | None,
) -> PageSplits:
    if isinstance(pages, PageSplits):
        if valid is not None or single_modal_pool is not None or modal_features or page_features:
            raise ConfigError("pages is a PageSplits: valid, single_modal_pool and the feature lists come from it")
        return pages
    if not isinstance(pages, pd.DataFrame):
        raise ConfigError(f"pages must be a page table (DataFrame) or a PageSplits, got {type(pages).__name__}")
    # the columns that become features, refused by name when they hold dates (as SMARRanker refuses them)
    candidates = page_features if page_features is not None else [c for c in pages.columns if c not in RESERVED_COLUMNS]
    check_not_datetime(pages, [c for c in candidates if c in pages.columns], "pages")
    return PageSplits(
        name=IN_MEMORY,
        single_modal=single_modal_pool if single_modal_pool is not None else pages.iloc[:0],
        train=pages,
        valid=valid,
        test=pages.iloc[:0],
        modal_features=dict(modal_features or {}),
        page_features=list(page_features) if page_features is not None else feature_columns(pages),
    )


def _named(cfg: RunConfig, name: str) -> RunConfig:
    """In-memory tables are recorded as dataset ``in-memory``."""
    return from_dict(RunConfig, {**cfg.to_dict(), "dataset": IN_MEMORY}).validate() if name == IN_MEMORY else cfg


def _fit_dask(
    cfg: RunConfig, pages: PageSplits | DaskPages, name: str, client: Client, progress: Progress | None
) -> SmarModel:
    from smar_ltr.distributed import fit_dask, pages_from_splits

    dask_pages = pages_from_splits(pages, client) if isinstance(pages, PageSplits) else pages
    return fit_dask(_named(cfg, name), dask_pages, client, progress)


def fit(
    pages: pd.DataFrame | PageSplits | DaskPages,
    *,
    config: RunConfig | str | Path | None = None,
    valid: pd.DataFrame | None = None,
    single_modal_pool: pd.DataFrame | None = None,
    modal_features: dict[str, list[str]] | None = None,
    page_features: list[str] | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
    client: Client | None = None,
    **settings: Any,
) -> SmarModel:
    """Fit SMAR on a page table: single-modal rankers (when needed), annotation budget, whole-page reranker.

    Parameters
    ----------
    pages : DataFrame or PageSplits
        Training page table (``qid, item_id, modality, page_label`` and numeric feature columns, plus
        ``upstream_score`` when the single-modal scores are given), or a dataset from
        :func:`smar_ltr.datasets.load_dataset` (its ``train``, ``valid`` and single-modal pool are used). A
        missing ``page_label`` means "not annotated": the default strategy ``auto`` then trains on exactly the
        annotated rows (``given``), and simulates the budget (``top``) when every row is labelled. With
        ``client``, also :class:`~smar_ltr.distributed.DaskPages` (e.g.
        :func:`~smar_ltr.distributed.pages_from_folders`: tables that stay on the cluster).
    config : RunConfig or path, optional
        Base configuration (a :class:`~smar_ltr.config.RunConfig` or a JSON/TOML file); defaults otherwise.
    valid : DataFrame, optional
        Validation pages for early stopping (page-table input only).
    single_modal_pool : DataFrame, optional
        Single-modal lists with ``modal_label`` to train the single-modal rankers on, when ``pages`` has no
        ``upstream_score`` (page-table input only); ``modal_features`` names each modality's columns.
    page_features : list of str, optional
        Numeric columns the reranker reads; default every numeric non-schema column of ``pages``.
    out : path, optional
        Also save the run there (see :func:`smar_ltr.serving.run_dir.save_run`).
    progress : callable, optional
        Receives one line per stage.
    client : distributed.Client, optional
        Fit on this Dask cluster (:func:`smar_ltr.distributed.fit_dask`; extra ``smar-ltr[dask]``): in-memory
        tables are scattered to the workers in query-aligned partitions. XGBoost or LightGBM rerankers only.
    **settings
        Configuration fields overriding ``config``, as in the config file: ``seed=1``,
        ``budget={"strategy": "top", "budget": 0.1}``, ``reranker={"backend": "xgboost"}``, ...

    Returns
    -------
    SmarModel
        The fitted run; ``model.summary`` holds the annotation and supervision counts.

    Examples
    --------
    >>> import smar_ltr
    >>> from smar_ltr.datasets import load_dataset
    >>> splits = load_dataset("synthetic", size="small", seed=0)
    >>> fast = {"n_estimators": 20, "learning_rate": 0.2, "min_data_in_leaf": 5}
    >>> model = smar_ltr.fit(splits, budget={"budget": 0.1}, single_modal=fast, reranker=fast)
    >>> model.summary["annotation"]["strategy"], model.summary["annotation"]["label_fraction"] <= 0.1
    ('top', True)
    """
    cfg = _config(config, settings)
    if type(pages).__name__ == "DaskPages":  # tables that live on a cluster (no dask import without the extra)
        if client is None:
            raise ConfigError("Dask pages need the cluster they live on: pass client=<distributed.Client>")
        dask_pages = cast("DaskPages", pages)
        model = _fit_dask(cfg, dask_pages, dask_pages.name, client, progress)
    else:
        data = _splits(
            cast("pd.DataFrame | PageSplits", pages), valid, single_modal_pool, modal_features, page_features
        )
        if client is not None:
            model = _fit_dask(cfg, data, data.name, client, progress)
        else:
            from smar_ltr.pipeline import fit as fit_pipeline  # training is imported when fitting, not to load

            model, _ = fit_pipeline(_named(cfg, data.name), data, progress)
    if out is not None:
        save_run(model, out)
    return model


def load(run_dir: str | Path) -> SmarModel:
    """Load a run directory written by :func:`fit` (``out=``) or ``smar-ltr fit``; checksums are verified.

    Parameters
    ----------
    run_dir : path
        The run directory.

    Returns
    -------
    SmarModel

    Examples
    --------
    >>> import tempfile
    >>> import smar_ltr
    >>> from smar_ltr.datasets import load_dataset
    >>> splits = load_dataset("synthetic", size="small", seed=0)
    >>> fast = {"n_estimators": 20, "learning_rate": 0.2, "min_data_in_leaf": 5}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     model = smar_ltr.fit(splits, out=f"{tmp}/run", single_modal=fast, reranker=fast)
    ...     again = smar_ltr.load(f"{tmp}/run")
    >>> bool((again.score(splits.test) == model.score(splits.test)).all())
    True
    """
    return load_run(run_dir)


def rerank(model: SmarModel | str | Path, pages: pd.DataFrame) -> pd.DataFrame:
    """Score and rank a page table with a fitted run (or the path of a saved one).

    Parameters
    ----------
    model : SmarModel or path
        A fitted run, or a run directory to load.
    pages : DataFrame
        Page table with the columns the run was trained on (``upstream_score`` too when it was shipped).

    Returns
    -------
    DataFrame
        A copy of ``pages`` with ``score`` (float) and ``rank`` (1 = top of its query; ties keep input order).

    Examples
    --------
    >>> import smar_ltr
    >>> from smar_ltr.datasets import load_dataset
    >>> splits = load_dataset("synthetic", size="small", seed=0)
    >>> fast = {"n_estimators": 20, "learning_rate": 0.2, "min_data_in_leaf": 5}
    >>> model = smar_ltr.fit(splits, single_modal=fast, reranker=fast)
    >>> ranked = smar_ltr.rerank(model, splits.test)
    >>> bool(ranked.groupby("qid")["rank"].min().eq(1).all())
    True
    """
    if isinstance(model, SmarModel):
        return rerank_pipeline(model, pages)
    if not isinstance(model, str | os.PathLike):
        raise ConfigError(
            f"rerank takes a run from smar_ltr.fit or its directory, got {type(model).__name__}; "
            "score a SMARRanker with its own predict method"
        )
    return rerank_pipeline(load(model), pages)


__all__ = ["IN_MEMORY", "fit", "load", "rerank"]
