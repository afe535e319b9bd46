"""An annotation campaign in a directory: plan, import answers round by round, status.

Each function takes data (page splits, paths) and returns data; the CLI (``smar-ltr annotate``) loads the pages
named in the campaign's settings and formats what these return. Layout and durability: :mod:`.store`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.budget import global_allowance
from smar_ltr.campaign import store
from smar_ltr.campaign.answers import check_answers, read_answers
from smar_ltr.campaign.integrity import check_settings, check_state
from smar_ltr.campaign.pool import annotated_roles, build_pool, split_part
from smar_ltr.campaign.rounds import estimate_rounds_left, levels_of, next_batch, split_progress
from smar_ltr.campaign.store import CampaignState, campaign_lock, check_campaign_dir, read_json
from smar_ltr.campaign.worklist import labelstudio_config, round_paths, worklist, write_round_files
from smar_ltr.errors import CampaignError, ConfigError
from smar_ltr.rankers import GBDTRanker
from smar_ltr.splits import PageSplits

#: Strategies a campaign runs (``all`` labels everything; ``given``/``auto`` choose nothing to ask).
CAMPAIGN_STRATEGIES: tuple[str, ...] = ("top", "band", "random", "iso-anchor")


@dataclass(frozen=True)
class RoundReport:
    """Where a campaign stands after ``plan`` or ``import``.

    Attributes
    ----------
    round : int
        Current round (the last issued).
    batch_csv, labelstudio_json : Path or None
        Files of the current round; None once the campaign is done.
    tasks : int
        Tasks of the current round still without an answer (0 when done).
    done : bool
        Every round is answered; export the campaign.
    new_answers : int
        Answers this call recorded.
    labels_used, label_budget : int
        Answers recorded so far, and the budget's judgement allowance over the annotated splits.
    batch : DataFrame
        The tasks still to answer (worklist rows).
    """

    round: int
    batch_csv: Path | None
    labelstudio_json: Path | None
    tasks: int
    done: bool
    new_answers: int
    labels_used: int
    label_budget: int
    batch: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the batch as a count)."""
        return {
            "round": self.round,
            "batch_csv": str(self.batch_csv) if self.batch_csv else None,
            "labelstudio_json": str(self.labelstudio_json) if self.labelstudio_json else None,
            "tasks": self.tasks,
            "done": self.done,
            "new_answers": self.new_answers,
            "labels_used": self.labels_used,
            "label_budget": self.label_budget,
        }


def parse_label_scale(text: str) -> tuple[int, int]:
    """``"0..4"`` to ``(0, 4)``; the grades annotators may give, at least two of them."""
    lo, sep, hi = str(text).partition("..")
    try:
        scale = (int(lo), int(hi))
    except ValueError:
        raise ConfigError(f"label scale {text!r} is not LOW..HIGH with integers, e.g. 0..4") from None
    if not sep or not 0 <= scale[0] < scale[1] <= 30:
        raise ConfigError(f"label scale {text!r} must be LOW..HIGH with 0 <= LOW < HIGH <= 30, e.g. 0..4")
    return scale


def load_settings(directory: str | Path) -> dict[str, Any]:
    """The settings a campaign was planned with (``campaign.json``)."""
    return check_settings(read_json(check_campaign_dir(Path(directory)) / store.SETTINGS))


def _check_new_dir(out: Path) -> None:
    if (out / store.SETTINGS).is_file():
        raise CampaignError(
            f"{str(out)!r} already holds an annotation campaign; continue it with `smar-ltr annotate import`, "
            "or plan into a new directory"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CampaignError(f"{str(out)!r} exists and is not an empty directory; plan the campaign into a new one")


def plan_campaign(
    out: str | Path,
    splits: PageSplits,
    *,
    strategy: str,
    budget: float,
    seed: int = 0,
    band: int = 0,
    label_scale: tuple[int, int] = (0, 4),
    models: dict[str, GBDTRanker] | None = None,
    modal_features: dict[str, list[str]] | None = None,
    source: dict[str, Any] | None = None,
    label_validation: bool = True,
) -> RoundReport:
    """Start a campaign: score the pool, fix the settings and write round 1.

    Parameters
    ----------
    out : path
        New (or empty) campaign directory; an existing campaign is refused.
    splits : PageSplits
        The pages; ``train`` and ``valid`` (when present) are annotated, their page labels are never read.
    strategy, budget, seed, band :
        As for :func:`smar_ltr.budget.annotate` (``all`` is not a campaign strategy).
    label_scale : (int, int)
        Lowest and highest grade; iso-anchor searches the levels ``high .. low + 1``.
    models, modal_features : dict, optional
        Single-modal rankers scoring the pool (none: the pages ship ``upstream_score``).
    source : dict, optional
        How to load the pages again (dataset name, data_dir, options, seed), stored for import and export.
    label_validation : bool
        Also annotate the validation pages under the budget. Only early stopping on labels reads them
        (:func:`smar_ltr.label_cost.validation_read_mode`); stopping on the consistency loss needs the pages
        but no label, so a campaign for such a fit leaves them out and spends the whole budget on training pages.
    """
    if strategy not in CAMPAIGN_STRATEGIES:
        raise ConfigError(f"campaign strategy must be one of {', '.join(CAMPAIGN_STRATEGIES)}, got {strategy!r}")
    label_scale = parse_label_scale(f"{label_scale[0]}..{label_scale[1]}")  # the CLI's check, for API callers
    out = Path(out)
    _check_new_dir(out)
    roles = annotated_roles(splits) if label_validation else ("train",)
    pool = build_pool(splits, roles, models or {}, modal_features or {})
    settings: dict[str, Any] = {
        "format_version": store.FORMAT_VERSION,
        "source": source or {},
        "strategy": strategy,
        "budget": float(budget),
        "seed": int(seed),
        "band": int(band),
        "label_scale": list(label_scale),
        "levels": levels_of(label_scale),
        "splits": list(roles),
        "allowance": {r: global_allowance(float(budget), int((pool["split"] == r).sum())) for r in roles},
        "fingerprint": store.pages_fingerprint(splits, roles),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # what the answers depend on, not when it was planned: the same plan gives the same worklists byte for byte
    keys = ("strategy", "budget", "seed", "band", "label_scale", "splits", "fingerprint")
    identity = json.dumps({k: settings[k] for k in keys}, sort_keys=True)
    # a leading letter: spreadsheets keep it text (an all-digit or "123e45..." id would be turned into a number)
    settings["campaign_id"] = "c" + hashlib.sha256(identity.encode()).hexdigest()[:12]
    state = CampaignState()
    _advance(state, pool, settings)  # validates strategy and budget through budget.annotate
    if state.done:  # e.g. a band past the end of every list: a campaign that asks nothing is a mistake
        raise ConfigError(
            f"strategy {strategy} at budget {budget} (band {band}) asks for no label on these pages; "
            "choose a smaller band or another strategy"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.plan-", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a campaign directory is shared with annotators
        store.write_json(tmp / store.SETTINGS, settings)
        store.write_durably(tmp / store.POOL, lambda p: pool.to_parquet(p, index=False))
        store.write_durably(tmp / store.LS_CONFIG, lambda p: Path(p).write_text(labelstudio_config(label_scale)))
        store.save_state(tmp, state)
        _ensure_round_files(tmp, pool, state, settings)
        try:
            os.replace(tmp, out)  # atomic; fails if another plan filled ``out`` meanwhile
        except OSError:
            raise CampaignError(
                f"{str(out)!r} was filled by another command meanwhile; plan into a new directory"
            ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _report(out, pool, settings, state, 0)


def _advance(state: CampaignState, pool: pd.DataFrame, settings: dict[str, Any]) -> None:
    """Issue the next round when the current one is fully answered (or mark the campaign done)."""
    if state.done or state.pending():
        return
    batch = next_batch(pool, settings, state.answers)
    if batch:
        state.rounds.append(batch)
    else:
        state.done = True


def _ensure_round_files(directory: Path, pool: pd.DataFrame, state: CampaignState, settings: dict[str, Any]) -> None:
    if state.rounds and not state.done:
        write_round_files(directory, pool, state.rounds[-1], state.round, settings.get("campaign_id", ""))


def _read_pool(directory: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(directory / store.POOL)
    except (OSError, ValueError) as exc:
        raise CampaignError(
            f"{store.POOL} of {str(directory)!r} cannot be read ({exc}); the campaign is damaged"
        ) from None


def check_pages(settings: dict[str, Any], splits: PageSplits) -> None:
    """Refuse pages that differ from those the campaign was planned on."""
    if store.pages_fingerprint(splits, tuple(settings["splits"])) != settings["fingerprint"]:
        raise CampaignError(
            "the pages changed since this campaign was planned (fingerprint differs); use the same page tables, "
            "or plan a new campaign on the new pages"
        )


def _report(
    directory: Path, pool: pd.DataFrame, settings: dict[str, Any], state: CampaignState, new: int
) -> RoundReport:
    pending = state.pending()
    csv_path, ls_path = round_paths(directory, state.round) if not state.done else (None, None)
    return RoundReport(
        round=state.round,
        batch_csv=csv_path,
        labelstudio_json=ls_path,
        tasks=len(pending),
        done=state.done,
        new_answers=new,
        labels_used=len(state.answers),
        label_budget=int(sum(settings["allowance"].values())),
        batch=worklist(pool, pending, state.round, settings.get("campaign_id", "")),
    )


def open_campaign(directory: Path, splits: PageSplits) -> tuple[dict[str, Any], pd.DataFrame, CampaignState]:
    """Settings, pool and state of a campaign whose pages are ``splits`` (call under the lock)."""
    settings = load_settings(directory)
    check_pages(settings, splits)
    pool = _read_pool(directory)
    return settings, pool, check_state(store.load_state(directory), pool, settings)


def import_answers(directory: str | Path, splits: PageSplits, answers_file: str | Path) -> RoundReport:
    """Record the answers of a filled worklist or Label Studio export and issue the next round when due.

    Accepted whole or refused whole (:func:`~smar_ltr.campaign.answers.check_answers`); the new state is committed
    by one atomic rename, so a crash leaves the campaign as before, and a file imported twice changes nothing.
    """
    directory = check_campaign_dir(Path(directory))
    with campaign_lock(directory):
        settings, pool, state = open_campaign(directory, splits)
        rows = read_answers(Path(answers_file))
        scale = (int(settings["label_scale"][0]), int(settings["label_scale"][1]))
        new = check_answers(rows, pool, state, scale, settings.get("campaign_id", ""))
        before = (state.round, state.done)
        if new:
            state.answers.update(new)
            digest = store.sha256_bytes(Path(answers_file).read_bytes())
            state.imports.append({"file": Path(answers_file).name, "sha256": digest, "answers": len(new)})
        _advance(state, pool, settings)
        if new or (state.round, state.done) != before:
            store.save_state(directory, state)
        _ensure_round_files(directory, pool, state, settings)
        return _report(directory, pool, settings, state, len(new))


def campaign_status(directory: str | Path) -> dict[str, Any]:
    """Labels spent and budget, rounds, lists settled, rounds likely left, done.

    Returns
    -------
    dict
        ``labels_used, label_budget, rounds, rounds_done, pending, lists_settled, lists_total, rounds_left, done,
        strategy, budget``.
    """
    directory = check_campaign_dir(Path(directory))
    settings = load_settings(directory)
    pool = _read_pool(directory)
    state = check_state(store.load_state(directory), pool, settings)
    progress = [split_progress(split_part(pool, r), settings, state.answers) for r in settings["splits"]]
    pending = len(state.pending())
    return {
        "strategy": settings["strategy"],
        "budget": settings["budget"],
        "labels_used": len(state.answers),
        "label_budget": int(sum(settings["allowance"].values())),
        "rounds": state.round,
        "rounds_done": state.round - (1 if pending else 0),
        "pending": pending,
        "lists_settled": sum(p.lists_settled for p in progress),
        "lists_total": sum(p.lists_total for p in progress),
        "rounds_left": 0 if state.done else estimate_rounds_left(progress, pending),
        "done": state.done,
    }
