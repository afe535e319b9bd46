"""Render reports as a text table, markdown or JSON (formatting only; no computation)."""

from __future__ import annotations

import json
import math
from typing import Any


def table(headers: list[str], rows: list[list[str]], markdown: bool = False, numbers_right: bool = False) -> str:
    """The one table renderer: aligned plain text (``numbers_right`` right-aligns every column but the first)
    or a markdown table."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    right = [numbers_right and i > 0 for i in range(len(widths))]
    fmt = "  ".join(f"{{:>{w}}}" if r else f"{{:<{w}}}" for w, r in zip(widths, right, strict=True))
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _finite(value: Any) -> Any:
    """NaN / inf (e.g. a metric no query could define) become null, so the output is valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def render_report(report: Any, fmt: str) -> str:
    """An :class:`~smar_ltr.evaluation.paper_protocol.EvalReport` as ``table``, ``markdown`` or ``json`` text."""
    data = report.to_dict()
    if fmt == "json":
        return json.dumps(_finite(data), allow_nan=False)
    metric_names = list(data["results"][0]["metrics"]) if data["results"] else []
    headers = ["method", "labels", "fraction", *metric_names]
    rows = [
        [
            r["method"],
            str(r["labels_used"]),
            f"{r['label_fraction']:.3f}",
            *(f"{r['metrics'][m]:.4f}" for m in metric_names),
        ]
        for r in data["results"]
    ]
    title = (
        f"dataset={data['dataset']} split={data['split']} queries={data['n_queries']} "
        f"strategy={data['strategy']} budget={data['budget']} seed={data['seed']}"
    )
    notes = data.get("notes", {})
    if notes.get("simulated"):
        title += "  (simulated data: results describe the simulator, not real users)"
    left_out = data.get("notes", {}).get("unlabelled_rows_left_out", 0)
    if left_out:
        title += f"\n{left_out} {data['split']} rows without a page label (not annotated) were left out of the metrics"
    return (
        title
        + "\n"
        + table(headers, rows, markdown=fmt == "markdown", numbers_right=True)
        + constant_queries_note(notes, data)
    )


def constant_queries_note(notes: dict[str, Any], data: dict[str, Any]) -> str:
    """The report's statement of the constant-label policy (empty when no query has all-equal labels)."""
    count = int(notes.get("constant_label_queries", 0))
    if not count:
        return ""
    if notes.get("constant_label_queries_excluded"):
        return f"\nnote: {count} queries with all-equal labels left out of every metric (--exclude-constant-queries)"
    return (
        f"\nnote: {count} of {data['n_queries']} queries have all-equal labels; every ranking scores the same on "
        "them (counted in the means above); --exclude-constant-queries leaves them out"
    )
