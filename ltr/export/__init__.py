"""Export a fitted reranker to search engines: Elasticsearch / OpenSearch LTR, Vespa and Solr LTR.

``export_model(model, "es-ltr", "model.json")`` writes the engine's model file plus its companion (feature-set
template, rank-profile snippet or feature store) next to it and returns what was written. Every format scores
exactly as :meth:`GBDTRanker.predict` does (the raw margin) for float32 feature values, missing (NaN) values
included; :mod:`smar_ltr.export.trees` explains how. CatBoost rerankers are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from smar_ltr.core.artifact_kinds import check_not_inside
from smar_ltr.core.atomic import check_output_location, write_atomic
from smar_ltr.errors import ExportError
from smar_ltr.export import es_ltr, solr, vespa
from smar_ltr.export.feature_matrix import reranker_input_matrix
from smar_ltr.export.trees import Ensemble, count_nodes, ensemble_of
from smar_ltr.page_table.schema import UPSTREAM_SCORE
from smar_ltr.serving.model import SmarModel

FORMATS = ("es-ltr", "opensearch-ltr", "vespa", "solr")


@dataclass
class Export:
    """Files of one export (path -> text), written together by :func:`write_export`.

    Attributes
    ----------
    files : dict of Path to str
        The main model file first, then its companions.
    notes : list of str
        One-line remarks for the user.
    inexact : list of (feature, low, high)
        Feature values ``low < x <= high`` the engine routes differently from the reranker (Solr only, for
        splits within about 1e-6 of zero; empty elsewhere).
    """

    files: dict[Path, str]
    notes: list[str] = field(default_factory=list)
    inexact: list[tuple[str, float, float]] = field(default_factory=list)
    format: str | None = None


#: The companion file each format writes next to its model file ``<stem>.json``: what records an export's kind.
COMPANIONS = {
    "es-ltr": ".featureset.json",
    "opensearch-ltr": ".featureset.json",
    "vespa": ".rank-profile.sd",
    "solr": ".feature-store.json",
}


def _stem(out: Path) -> Path:
    return out.with_name(out.name[: -len(".json")]) if out.name.endswith(".json") else out


def export_format_at(out: Path) -> str | None:
    """The format of the export whose model file is ``out`` (told by its companion), or None."""
    found = [fmt for fmt, suffix in COMPANIONS.items() if Path(f"{_stem(out)}{suffix}").is_file()]
    return found[0] if found else None


def check_export_location(export: Export) -> None:
    """Refuse, before anything is written, an export whose files would land inside another artifact (a run's
    ``manifest.json``, a campaign folder) or replace files that are not an earlier export of the same format."""
    for path in export.files:
        check_output_location(path, "file", "export file", ExportError)
        check_not_inside(path, "export file", ExportError)
    main = next(iter(export.files))
    there = export_format_at(main)
    same = there is not None and COMPANIONS.get(there) == COMPANIONS.get(export.format or "")
    if there is not None and not same:
        raise ExportError(
            f"{str(main)!r} is the model file of an earlier {there} export; writing the {export.format} export "
            "there would replace its files: choose another --out for each format"
        )
    if not same:
        clash = [p for p in export.files if p.exists()]
        if clash:
            raise ExportError(
                f"{str(clash[0])!r} exists and is not part of an earlier {export.format} export; refusing to "
                "replace it: choose another --out"
            )


def model_name(out: Path) -> str:
    """Default model / feature-set name: the output file's stem with anything but ``[A-Za-z0-9_-]`` as ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", out.name.split(".")[0]) or "smar_ltr"


def _fields(model: SmarModel) -> set[str]:
    """Reranker inputs that are plain numeric columns of the page table (documents can store them as-is)."""
    fields = set(model.raw_features)
    if model.config.upstream_as_feature:
        fields.add(UPSTREAM_SCORE)
    return fields


def _json(data: object) -> str:
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def build_export(model: SmarModel, fmt: str, out: str | Path, name: str | None = None) -> Export:
    """The files of ``model``'s reranker in ``fmt``, without writing anything.

    Parameters
    ----------
    model : SmarModel
        A fitted or loaded run (LightGBM or XGBoost reranker).
    fmt : {"es-ltr", "opensearch-ltr", "vespa", "solr"}
        Target engine.
    out : path
        Main output file; companions are written next to it (``<stem>.featureset.json``,
        ``<stem>.rank-profile.sd``, ``<stem>.feature-store.json``).
    name : str, optional
        Model, feature-set and store name (default: from ``out``).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.suffix != ".json":
        raise ExportError(f"--out must be a .json file (the model file), got {str(out)!r}")
    if fmt == "vespa" and name is not None and not vespa.IDENTIFIER.fullmatch(name):
        raise ExportError(
            f"--name {name!r} cannot name a Vespa rank profile; use letters, digits and _ (not first a digit)"
        )
    name = name or model_name(out)
    if fmt == "vespa" and not vespa.IDENTIFIER.fullmatch(name):  # a default from a file name like "2-model"
        name = vespa.vespa_names([name])[0]
    ensemble: Ensemble = ensemble_of(model.reranker)
    stem = out.with_name(out.name[: -len(".json")])
    notes = [
        f"{ensemble.backend} reranker: {len(ensemble.trees)} trees, "
        f"{sum(count_nodes(t) for t in ensemble.trees)} nodes, {len(ensemble.feature_names)} features"
    ]
    if fmt in ("es-ltr", "opensearch-ltr"):
        files = {
            out: _json(es_ltr.createmodel_body(ensemble, name)),
            Path(f"{stem}.featureset.json"): _json(es_ltr.featureset_body(ensemble, _fields(model))),
        }
        negative = es_ltr.negative_field_splits(ensemble, _fields(model))
        if negative:
            feature, boundary = negative[0]
            notes.append(
                f"{len(negative)} document-field feature(s) split below 0 (e.g. {feature} at {boundary:.4g}), but "
                "the engine's field_value_factor refuses negative values: a document whose field is negative fails "
                "feature logging and rescoring; keep such fields non-negative (train on x - min) or replace their "
                "templates"
            )
    elif fmt == "vespa":
        body = vespa.xgboost_model(ensemble) if ensemble.backend == "xgboost" else vespa.lightgbm_model(ensemble)
        files = {out: _json(body), Path(f"{stem}.rank-profile.sd"): vespa.rank_profile(ensemble, out.name, name)}
    else:
        body, inexact = solr.model_store_body(ensemble, name, name)
        files = {
            out: _json(body),
            Path(f"{stem}.feature-store.json"): _json(solr.feature_store_body(ensemble, name, _fields(model))),
        }
        if inexact:
            feature, low, high = max(inexact, key=lambda r: r[2] - r[1])
            notes.append(
                f"Solr adds 1e-6 to every threshold, which float32 cannot undo for {len(inexact)} split(s) near zero: "
                f"e.g. {feature} values in ({low:.3g}, {high:.3g}] go right instead of left"
            )
        return Export(files, notes, inexact, fmt)
    return Export(files, notes, format=fmt)


def write_export(export: Export) -> list[Path]:
    """Write every file of ``export``; returns their paths.

    Every location is checked before anything is written (a folder in the way, an unwritable directory, a path
    inside another artifact, files of another format's export or of the user: :func:`check_export_location`), so
    a bad path costs no file; each file is then replaced atomically (an I/O failure on a later file, such as a
    full disk, can still leave the earlier ones written).
    """
    check_export_location(export)
    for path, text in export.files.items():
        write_atomic(path, _text_writer(text))
    return list(export.files)


def _text_writer(text: str) -> Callable[[Path], int]:
    return lambda tmp: tmp.write_text(text, encoding="utf-8")


def export_model(model: SmarModel, fmt: str, out: str | Path, name: str | None = None) -> Export:
    """Build and write an export (see :func:`build_export`); returns it (``files`` holds the written paths)."""
    export = build_export(model, fmt, out, name)
    write_export(export)
    return export


__all__ = ["FORMATS", "Export", "build_export", "export_model", "reranker_input_matrix", "write_export"]
