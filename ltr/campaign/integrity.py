"""Checks of a campaign directory's files against each other, so a hand edit is one clear error, not a traceback.

``campaign.json`` (the settings) and ``state.json`` (answers and rounds) are written by the campaign itself; a
person may still edit them. :func:`check_settings` refuses settings of the wrong shape, :func:`check_state`
answers that the pool, the rounds or the label scale cannot hold (which the next export would otherwise hand to
``fit`` as page labels).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from smar_ltr.campaign.pool import TASK_ID
from smar_ltr.campaign.store import SETTINGS, SKIP, STATE, CampaignState
from smar_ltr.errors import CampaignError

__all__ = ["check_settings", "check_state"]

_RESTORE = "the campaign directory is damaged; restore the file from a copy or plan the campaign again"


def _is_int(value: Any) -> bool:
    return type(value) is int


def _settings_problem(settings: Any) -> str | None:
    if not isinstance(settings, dict):
        return "is not a JSON object"
    expected: dict[str, type | tuple[type, ...]] = {
        "source": dict,
        "strategy": str,
        "budget": (int, float),
        "seed": int,
        "band": int,
        "label_scale": list,
        "levels": list,
        "splits": list,
        "allowance": dict,
        "fingerprint": str,
    }
    for key, kind in expected.items():
        if key not in settings:
            return f"lacks {key!r}"
        if not isinstance(settings[key], kind) or isinstance(settings[key], bool):
            return f"has {key!r} = {settings[key]!r} of the wrong type"
    scale = settings["label_scale"]
    if len(scale) != 2 or not all(_is_int(v) for v in scale) or not scale[0] < scale[1]:
        return f"has label_scale {scale!r}; it must be [low, high] integers with low < high"
    if not all(_is_int(v) for v in settings["levels"]):
        return f"has levels {settings['levels']!r}; they must be integers"
    if not settings["splits"] or not set(settings["splits"]) <= {"train", "valid"}:
        return f"has splits {settings['splits']!r}; they must be train and optionally valid"
    allowance = settings["allowance"]
    if set(allowance) != set(settings["splits"]) or not all(_is_int(v) and v >= 0 for v in allowance.values()):
        return f"has allowance {allowance!r}; it must give a label count >= 0 per split"
    if not 0.0 < float(settings["budget"]) <= 1.0:
        return f"has budget {settings['budget']!r}; it must be in (0, 1]"
    # written since campaigns have teams; an older campaign.json lacks them (one annotator, ranks hidden)
    optional: dict[str, type] = {"annotators": int, "aggregate": str, "show_modal_rank": bool, "grade_notes": dict}
    for key, kind in optional.items():
        if key in settings and (type(settings[key]) is not kind):
            return f"has {key!r} = {settings[key]!r} of the wrong type"
    if not 1 <= settings.get("annotators", 1) <= 20:
        return f"has annotators {settings['annotators']!r}; it must be 1 to 20"
    if settings.get("aggregate", "majority") not in ("majority", "median", "strict"):
        return f"has aggregate {settings['aggregate']!r}; it must be majority, median or strict"
    return None


def check_settings(settings: Any) -> dict[str, Any]:
    """``settings`` (the parsed ``campaign.json``) when it has the shape the campaign wrote; else one error."""
    problem = _settings_problem(settings)
    if problem is not None:
        raise CampaignError(f"{SETTINGS} {problem}; {_RESTORE}")
    return settings


def check_state(state: CampaignState, pool: pd.DataFrame, settings: dict[str, Any]) -> CampaignState:
    """``state`` when every answer is a grade of the scale for a task of the pool that a round asked."""
    tasks = set(pool[TASK_ID].astype(str))
    issued = {t for batch in state.rounds for t in batch}
    if not issued <= tasks:
        unknown = sorted(issued - tasks)[0]
        raise CampaignError(f"{STATE} issues task {unknown!r}, which the pool does not hold; {_RESTORE}")
    lo, hi = settings["label_scale"]
    for task, grade in state.answers.items():
        if task not in issued:
            raise CampaignError(f"{STATE} answers task {task!r}, which no round asked; {_RESTORE}")
        if not lo <= grade <= hi:
            raise CampaignError(
                f"{STATE} gives task {task!r} grade {grade}, outside the label scale {lo}..{hi}; {_RESTORE}"
            )
    copies = {str(c) for c in range(1, int(settings.get("annotators", 1)) + 1)}
    for task, votes in state.votes.items():
        if task not in issued:
            raise CampaignError(f"{STATE} records an answer to task {task!r}, which no round asked; {_RESTORE}")
        for copy, vote in votes.items():
            value = vote["value"]
            if copy not in copies or (value != SKIP and not lo <= value <= hi):
                raise CampaignError(
                    f"{STATE} records {value!r} for copy {copy!r} of task {task!r}, not a grade of {lo}..{hi} for a "
                    f"copy of 1..{len(copies)}; {_RESTORE}"
                )
    if state.open is not None and not set(state.open) <= issued:
        raise CampaignError(f"{STATE} has open tasks that no round asked; {_RESTORE}")
    return state
