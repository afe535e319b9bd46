"""Run directories: models in their libraries' own formats plus JSON, written atomically, checked on load.

Layout of a run directory::

    config.json          the exact RunConfig used
    features.json        fitted feature set (names, versions, training statistics), raw feature columns
    single_modal/<m>.*   one model + .meta.json per modality (absent when the dataset ships upstream scores)
    reranker.*           whole-page reranker + reranker.meta.json
    revealed.parquet     qid, item_id of the training candidates whose page label was used
    revealed_valid.parquet  qid, item_id of the validation candidates read for early stopping (if any)
    summary.json         annotation and supervision counts, dataset, data fingerprint
    metrics.json         evaluation results, when the run was evaluated
    baselines/<method>.* native baselines fitted by ``smar-ltr eval --model`` (full supervision, budget only),
                         added to the manifest with the fingerprint of the pages they were fitted on, so the next
                         evaluation on the same pages reuses them instead of refitting (other pages refit them)
    manifest.json        package version, seed, data fingerprint, sha256 of every file, and its own digest

Loading verifies every checksum and the manifest digest and refuses a tampered, incomplete or foreign
directory with one clear :class:`~smar_ltr.errors.ArtifactError`. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.config import RunConfig, from_dict
from smar_ltr.core.artifact_kinds import check_output
from smar_ltr.core.atomic import make_temporary_dir, replacing_dir, write_atomic
from smar_ltr.core.coercion import plain
from smar_ltr.errors import ArtifactError, SettingNote
from smar_ltr.features import FeatureSet
from smar_ltr.page_table.identity import splits_fingerprint
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.rankers import GBDTRanker, load_ranker
from smar_ltr.serving.model import SmarModel

MANIFEST = "manifest.json"
VALID_REVEALED = "revealed_valid.parquet"
FORMAT_VERSION = 1
#: ``kind`` of a pipeline run (:func:`save_run`); manifests written before ``kind`` existed are runs.
RUN_KIND = "run"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _model_stems(modalities: list[str]) -> dict[str, str]:
    """File stem per modality: a safe name, numbered so two modalities never share a file."""
    return {m: f"m{i}_{re.sub(r'[^0-9A-Za-z_.-]', '_', m)}" for i, m in enumerate(modalities)}


def check_output_dir(out: Path, kind: str = RUN_KIND) -> Path:
    """Resolve the run directory and refuse, before any work starts, a location that cannot be written, that lies
    inside another artifact, or that holds anything other than an empty folder or an earlier artifact of the same
    ``kind`` (a run, or a saved SMARRanker: :func:`smar_ltr.core.artifact_kinds.check_output`)."""
    what = "run folder" if kind == RUN_KIND else "model folder"
    return check_output(out, kind, what, error=ArtifactError).resolve()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON (NumPy values as numbers and lists, other non-JSON values as
    ``str``)."""
    path.write_text(json.dumps(plain(data), indent=2, sort_keys=True, default=str))


@contextmanager
def staged_dir(out: str | Path, kind: str = RUN_KIND) -> Iterator[Path]:
    """Write a run directory atomically: yield a temporary sibling to fill, rename it to ``out`` on success.

    ``out`` must be new, empty, or an earlier artifact of the same ``kind`` (replaced only once the new one is
    complete); on any error the temporary directory is removed and ``out`` is left as it was.
    """
    target = check_output_dir(Path(out), kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing_dir(target) as tmp:
        yield tmp


def write_manifest(run_dir: Path, kind: str, seed: int, **fields: Any) -> None:
    """Write ``manifest.json``: package version, ``kind``, seed, ``fields``, sha256 of every file, own digest."""
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    manifest = plain(
        {
            "format_version": FORMAT_VERSION,
            "package": "smar-ltr",
            "kind": kind,
            "version": package_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": seed,
            **fields,
            "files": {p.relative_to(run_dir).as_posix(): sha256_file(p) for p in files},
        }
    )
    manifest["digest"] = _digest(manifest)
    write_json(run_dir / MANIFEST, manifest)


def save_rankers(folder: Path, rankers: dict[str, GBDTRanker]) -> dict[str, str]:
    """Save one model per modality under ``folder`` (native format + meta JSON); returns modality -> file stem."""
    stems = _model_stems(list(rankers))
    if rankers:
        folder.mkdir()
        for m, stem in stems.items():
            rankers[m].save(folder / stem)
    return stems


def package_version() -> str:
    """The installed smar-ltr version recorded in a manifest (``0.0.0+source`` from a source tree)."""
    try:
        return version("smar-ltr")
    except PackageNotFoundError:
        return "0.0.0+source"


def load_rankers(folder: Path, stems: dict[str, str]) -> dict[str, GBDTRanker]:
    """Load the models written by :func:`save_rankers`."""
    return {m: load_ranker(folder / stem) for m, stem in stems.items()}


def save_run(model: SmarModel, out: str | Path, metrics: dict[str, Any] | None = None) -> Path:
    """Write a run directory atomically (a temporary sibling directory renamed into place).

    Parameters
    ----------
    model : SmarModel
        The fitted run.
    out : path
        Target directory: new, empty, or an earlier run (replaced only once the new one is complete). Any other
        existing folder or file is refused with :class:`ArtifactError`.
    metrics : dict, optional
        Evaluation results stored as ``metrics.json``.

    Returns
    -------
    Path
        The run directory.
    """
    with staged_dir(out) as tmp:
        write_json(tmp / "config.json", model.config.to_dict())
        write_json(
            tmp / "features.json",
            {
                "feature_set": model.features.to_dict(),
                "raw_features": model.raw_features,
                "modal_features": model.modal_features,
                "reranker_inputs": model.feature_names,
            },
        )
        stems = save_rankers(tmp / "single_modal", model.single_modal)
        model.reranker.save(tmp / "reranker")
        model.revealed[["qid", "item_id"]].astype(str).to_parquet(tmp / "revealed.parquet", index=False)
        if model.revealed_valid is not None:
            model.revealed_valid[["qid", "item_id"]].astype(str).to_parquet(tmp / VALID_REVEALED, index=False)
        write_json(tmp / "summary.json", model.summary)
        if metrics is not None:
            write_json(tmp / "metrics.json", metrics)
        write_manifest(
            tmp,
            RUN_KIND,
            model.config.seed,
            dataset=model.summary.get("dataset"),
            data_fingerprint=model.summary.get("data_fingerprint"),
            single_modal=stems,
        )
    return Path(out).resolve()


def read_manifest(run_dir: str | Path, kind: str | None = None) -> dict[str, Any]:
    """The verified manifest of a run directory (checksums and digest checked; ``kind`` checked when given)."""
    run_dir = Path(run_dir)
    path = run_dir / MANIFEST
    if run_dir.is_file():
        raise ArtifactError(f"{str(run_dir)!r} is a file; pass the run directory that fit or save wrote")
    if not run_dir.is_dir():
        raise ArtifactError(f"run directory {str(run_dir)!r} does not exist; pass a directory written by fit")
    if not path.is_file():
        raise ArtifactError(f"{str(run_dir)!r} has no {MANIFEST}; it is not a smar-ltr run directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); the run directory is corrupted") from None
    if not _is_manifest(manifest):
        raise ArtifactError(f"{path} is not a smar-ltr manifest; the run directory is corrupted")
    if manifest.get("digest") != _digest(manifest):
        raise ArtifactError(f"{path} was edited after the run was written (digest mismatch); refit the run")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ArtifactError(
            f"run format {manifest['format_version']} is newer than this smar-ltr supports ({FORMAT_VERSION}); "
            "upgrade smar-ltr"
        )
    found = manifest.get("kind", RUN_KIND)
    if kind is not None and found != kind:
        loader = "smar_ltr.SMARRanker.load" if found == "estimator" else "smar_ltr.load"
        raise ArtifactError(f"{str(run_dir)!r} holds a smar-ltr {found!r}, not a {kind!r}; load it with {loader}")
    for rel, expected in manifest["files"].items():
        f = run_dir / rel
        if not f.is_file():
            raise ArtifactError(f"run file {rel!r} is missing from {str(run_dir)!r}; the run directory is incomplete")
        if sha256_file(f) != expected:
            raise ArtifactError(f"run file {rel!r} does not match its sha256 in the manifest (modified or corrupted)")
    return manifest


def _inside(rel: Any) -> bool:
    """A relative path or file stem that stays inside the run directory (no ``..``, not absolute)."""
    return isinstance(rel, str) and bool(rel) and not Path(rel).is_absolute() and ".." not in Path(rel).parts


def _is_manifest(manifest: Any) -> bool:
    """Has ``manifest`` the shape :func:`write_manifest` writes (files and model stems inside the directory)?"""
    if not isinstance(manifest, dict) or manifest.get("package") != "smar-ltr":
        return False
    files, stems = manifest.get("files"), manifest.get("single_modal", {})
    return (
        isinstance(files, dict)
        and all(_inside(rel) and isinstance(digest, str) for rel, digest in files.items())
        and isinstance(stems, dict)
        and all(_inside(stem) for stem in stems.values())
        and type(manifest.get("format_version", 0)) is int
    )


def load_run(run_dir: str | Path) -> SmarModel:
    """Load a run written by :func:`save_run`, refusing tampered or incomplete directories."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir, RUN_KIND)
    config = from_dict(RunConfig, json.loads((run_dir / "config.json").read_text()))
    if config.seed != manifest.get("seed"):
        raise ArtifactError("config.json and manifest.json disagree on the seed; the run directory was altered")
    feats = json.loads((run_dir / "features.json").read_text())
    single = load_rankers(run_dir / "single_modal", manifest["single_modal"])
    reranker = load_ranker(run_dir / "reranker")
    if list(reranker.feature_names_in_) != list(feats["reranker_inputs"]):
        raise ArtifactError("reranker inputs differ from features.json; the run directory is inconsistent")
    return SmarModel(
        config=config,
        single_modal=single,
        modal_features={m: list(v) for m, v in feats["modal_features"].items()},
        features=FeatureSet.from_dict(feats["feature_set"]),
        raw_features=list(feats["raw_features"]),
        reranker=reranker,
        revealed=pd.read_parquet(run_dir / "revealed.parquet"),
        summary=json.loads((run_dir / "summary.json").read_text()),
        revealed_valid=pd.read_parquet(run_dir / VALID_REVEALED) if VALID_REVEALED in manifest["files"] else None,
    )


BASELINES = "baselines"


#: The pages stored baselines are fitted on (their fingerprint keys the stored models).
BASELINE_ROLES = ("train", "valid")


def baselines_fingerprint(splits: PageSplits) -> str:
    """The identity of the data a native baseline reads: every column of the training and validation pages
    (:func:`smar_ltr.page_table.identity.splits_fingerprint`)."""
    return splits_fingerprint(splits, BASELINE_ROLES)


def load_baselines(run_dir: str | Path, data: str | None = None) -> dict[str, GBDTRanker]:
    """The native baselines stored with a run (verified through its manifest), by method.

    With ``data`` (:func:`baselines_fingerprint` of the pages about to be evaluated) only baselines fitted on
    those pages are returned: stored ones fitted on other pages (or before their pages were recorded) are not,
    and a :class:`~smar_ltr.errors.SettingNote` says they are fitted again.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    methods = manifest.get("baselines", [])
    if data is not None and methods and manifest.get("baselines_data") != data:
        warnings.warn(
            f"the baselines stored in {str(run_dir)!r} were fitted on other training or validation pages (their "
            "fingerprint differs); fitting them again on these",
            SettingNote,
            stacklevel=2,
        )
        return {}
    return {m: load_ranker(run_dir / BASELINES / m) for m in methods}


def save_baselines(run_dir: str | Path, models: dict[str, GBDTRanker], data: str | None = None) -> list[str]:
    """Store fitted native baselines in a run folder and list them in its manifest (digest renewed).

    The model files are written to a temporary folder and moved into ``baselines/`` first, then the manifest is
    replaced atomically: a kill in between leaves unlisted files that the next call overwrites, never a run
    that fails to load. ``data`` (:func:`baselines_fingerprint` of the pages ``models`` were fitted on) is
    recorded with them; stored baselines of other pages are replaced by ``models``.

    Returns
    -------
    list of str
        The methods newly stored.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("baselines") and manifest.get("baselines_data") != data:  # fitted on other pages: replaced
        manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith(f"{BASELINES}/")}
        manifest["baselines"] = []
    new = {m: r for m, r in models.items() if m not in manifest.get("baselines", [])}
    if not new:
        return []
    target = run_dir / BASELINES
    tmp = make_temporary_dir(target)
    try:
        written = [p for m, r in new.items() for p in r.save(tmp / m)]
        target.mkdir(exist_ok=True)
        for p in written:
            os.replace(p, target / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in written:
        manifest["files"][f"{BASELINES}/{p.name}"] = sha256_file(target / p.name)
    manifest["baselines"] = sorted({*manifest.get("baselines", []), *new})
    manifest["baselines_data"] = data
    manifest["digest"] = _digest(manifest)
    write_atomic(run_dir / MANIFEST, lambda tmp_file: write_json(tmp_file, manifest))
    listed = set(manifest["files"])
    for p in target.iterdir():  # files of baselines of other pages, no longer listed
        if f"{BASELINES}/{p.name}" not in listed and p.is_file():
            p.unlink(missing_ok=True)
    return sorted(new)
