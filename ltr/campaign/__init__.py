"""Annotation campaigns on real pages: plan a budgeted worklist, import answers round by round, export tables.

``plan_campaign`` scores the unlabelled pool and writes round 1; ``import_answers`` records a filled worklist CSV
or a Label Studio export and writes the next round (iso-anchor: one binary-search step of every unsettled list
per round); ``correct_answer`` and ``skip_task`` change a recorded answer or mark a task unjudgeable;
``campaign_status`` reports progress and the annotators' agreement; ``export_campaign`` writes page tables that
``fit`` trains on.
A campaign answered from the true labels reveals exactly what :func:`smar_ltr.annotation.budget.annotate` simulates.
"""

from __future__ import annotations

from smar_ltr.campaign.campaign import (
    RoundReport,
    campaign_status,
    correct_answer,
    import_answers,
    load_settings,
    parse_label_scale,
    plan_campaign,
    skip_task,
)
from smar_ltr.campaign.labelled_pages import export_campaign
from smar_ltr.page_table.schema import INFERRED_LABEL

__all__ = [
    "INFERRED_LABEL",
    "RoundReport",
    "campaign_status",
    "correct_answer",
    "export_campaign",
    "import_answers",
    "load_settings",
    "parse_label_scale",
    "plan_campaign",
    "skip_task",
]
