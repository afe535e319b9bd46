"""Outputs of a sweep: the annotation-cost plot (PNG), a markdown and a JSON table, written atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from smar_ltr.core.atomic import write_atomic

#: Strategy of the sweep's reference cells (budget-free methods; :data:`smar_ltr.experiments.sweep.REFERENCE`).
_REFERENCE = "all"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def plot_curve(rows: list[dict[str, Any]], metric: str, title: str, path: str | Path) -> Path:
    """NDCG (or ``metric``) against the honest label fraction, one line per curve, error bars = std over seeds.

    Budget-free methods are single points (fusion and interleaving at fraction 0); full supervision is also drawn
    as a dotted horizontal line so the budgeted curves can be read against it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["mean"] is not None:
            curves.setdefault(r["method"], []).append(r)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for i, (label, points) in enumerate(sorted(curves.items())):
        points.sort(key=lambda r: r["label_fraction"])
        xs = [r["label_fraction"] for r in points]
        ys = [r["mean"] for r in points]
        es = [r["std"] or 0.0 for r in points]
        color = plt.cm.tab20(i % 20)
        ax.errorbar(xs, ys, yerr=es, fmt="o-" if len(points) > 1 else "s", label=label, color=color, capsize=2, ms=4)
        if label == "full_supervision":
            ax.axhline(ys[0], color=color, linestyle=":", linewidth=1)
    ax.set_xlabel("page labels read (training + validation) / candidates (honest label fraction)")
    ax.set_ylabel(f"test {metric} (mean ± std over seeds)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = Path(path)
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path


def markdown_report(
    rows: list[dict[str, Any]],
    cheapest: list[dict[str, Any]],
    comparisons: list[dict[str, Any]],
    metric: str,
    header: dict[str, Any],
) -> str:
    """The sweep as markdown: settings, the cheapest budget within tolerance, and every (curve, budget) row."""
    lines = [
        f"# Annotation-cost sweep: {header['dataset']}",
        "",
        f"Budgets {header['budgets']}, strategies {header['strategies']}, seeds {header['seeds']}; "
        f"test {metric}, mean ± std over seeds. *labels used* = training + validation page labels a method read "
        "(validation labels drive early stopping; `budget.validation` = "
        f"{header['config']['budget'].get('validation', 'budgeted')}), *label fraction* = that / the candidates of "
        "those pages, as `eval` reports it.",
    ]
    if header.get("simulated"):
        lines.append("Simulated data: results describe the simulator, not real users.")
    if cheapest:
        c0 = cheapest[0]
        lines += [
            "",
            f"## Cheapest budget within {c0['tolerance']:g} of {c0['reference']} ({_fmt(c0['reference_mean'])})",
            "",
            f"| method | budget | label fraction | {metric} |",
            "|---|---|---|---|",
        ]
        for c in cheapest:
            budget = "none within tolerance" if c["budget"] is None else f"{c['budget']:g}"
            lines.append(f"| {c['method']} | {budget} | {_fmt(c['label_fraction'], 3)} | {_fmt(c['mean'])} |")
    if comparisons:
        lines += [
            "",
            f"## Paired tests over seeds ({metric}; a - b; `matches` = TOST equivalence within the tolerance)",
            "",
            "| a | b | budget | seeds | mean diff | paired t p | Wilcoxon p | TOST p | verdict |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for c in comparisons:
            lines.append(
                f"| {c['a']} | {c['b']} | {c['budget']:g} | {c['n']} | {_fmt(c['mean_diff'])} | {_fmt(c['t_p'], 3)} | "
                f"{_fmt(c['wilcoxon_p'], 3)} | {_fmt(c['tost_p'], 3)} | {c['verdict']} |"
            )
    lines += [
        "",
        "## All results",
        "",
        f"| method | budget | labels used | label fraction | {metric} | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        budget = "-" if r["strategy"] == _REFERENCE else f"{r['budget']:g}"
        cell = "n/a" if r["mean"] is None else f"{r['mean']:.4f} ± {r['std']:.4f}"
        used, fraction = f"{r['labels_used']:.0f}", f"{r['label_fraction']:.3f}"
        lines.append(f"| {r['method']} | {budget} | {used} | {fraction} | {cell} | {r['n_seeds']} |")
    return "\n".join(lines) + "\n"


def write_outputs(
    out_dir: str | Path,
    rows: list[dict[str, Any]],
    cheapest: list[dict[str, Any]],
    comparisons: list[dict[str, Any]],
    metric: str,
    header: dict[str, Any],
) -> dict[str, Path]:
    """Write ``curve.png``, ``results.md`` and ``results.json`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    payload = {**header, "metric": metric, "cheapest": cheapest, "comparisons": comparisons, "rows": rows}
    text = json.dumps(payload, indent=2, allow_nan=False)
    md = markdown_report(rows, cheapest, comparisons, metric, header)
    paths = {
        "plot": plot_curve(rows, metric, f"{header['dataset']}: {metric} against labels spent", out / "curve.png"),
        "json": write_atomic(out / "results.json", lambda tmp: tmp.write_text(text)),
        "markdown": write_atomic(out / "results.md", lambda tmp: tmp.write_text(md)),
    }
    return paths
