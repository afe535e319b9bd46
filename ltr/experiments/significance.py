"""Paired significance tests behind every "beats" / "matches" of a sweep, over seeds.

Each sweep row holds one value per seed (``values`` in ``seeds`` order); two rows are compared on the seeds they
share, as paired samples ``d = a - b``:

* ``beats`` / ``worse``: two-sided paired t-test (``scipy.stats.ttest_rel``) at level ``alpha``, sign of the mean
  difference; the Wilcoxon signed-rank p-value is reported next to it (with 5 seeds its smallest two-sided value is
  0.0625, so it can never pass 0.05 alone: read it as a check on the t-test's normality assumption);
* ``matches``: equivalence within ``+-tolerance`` by two one-sided t-tests (TOST, Schuirmann 1987): both
  ``mean(d) > -tolerance`` and ``mean(d) < +tolerance`` must be significant at ``alpha``;
* otherwise ``inconclusive``: neither a difference nor an equivalence is shown with this many seeds.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import stats


def _p(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def paired_test(a: np.ndarray, b: np.ndarray, tolerance: float, alpha: float = 0.05) -> dict[str, Any]:
    """Compare paired samples ``a`` and ``b`` (one value per seed).

    Returns
    -------
    dict
        ``n``, ``mean_diff`` (a - b), ``t_p`` (two-sided paired t), ``wilcoxon_p``, ``tost_p`` (equivalence within
        ``tolerance``) and ``verdict`` (``beats``, ``worse``, ``matches`` or ``inconclusive``).
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    out: dict[str, Any] = {"n": int(d.size), "mean_diff": float(d.mean()) if d.size else None}
    out.update(t_p=None, wilcoxon_p=None, tost_p=None, verdict="inconclusive")
    if d.size < 2:
        return out
    if np.all(d == d[0]):  # no spread: the tests are undefined, the difference is exact
        exact = abs(d[0]) < tolerance
        out["verdict"] = "matches" if exact else ("beats" if d[0] > 0 else "worse")
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about small samples; the docstring says how to read them
        out["t_p"] = _p(stats.ttest_1samp(d, 0.0).pvalue)
        out["wilcoxon_p"] = _p(stats.wilcoxon(d).pvalue)
        lower = stats.ttest_1samp(d + tolerance, 0.0, alternative="greater").pvalue
        upper = stats.ttest_1samp(d - tolerance, 0.0, alternative="less").pvalue
    out["tost_p"] = _p(max(lower, upper))
    if out["t_p"] is not None and out["t_p"] < alpha:
        out["verdict"] = "beats" if out["mean_diff"] > 0 else "worse"
    elif out["tost_p"] is not None and out["tost_p"] < alpha:
        out["verdict"] = "matches"
    return out


def _paired_values(a: dict[str, Any], b: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    vb = dict(zip(b["seeds"], b["values"], strict=True))
    pairs = [
        (x, vb[s]) for s, x in zip(a["seeds"], a["values"], strict=True) if x is not None and vb.get(s) is not None
    ]
    return np.array([p[0] for p in pairs], dtype=float), np.array([p[1] for p in pairs], dtype=float)


def compare_rows(
    rows: list[dict[str, Any]], reference: str, tolerance: float, alpha: float = 0.05
) -> list[dict[str, Any]]:
    """Every budgeted curve point against ``reference``, and SMAR against each baseline at the same budget.

    Parameters
    ----------
    rows : list of dict
        :func:`smar_ltr.experiments.sweep.summarise` rows (``values`` per seed).
    reference : str
        The fully supervised row, e.g. ``full_supervision``.
    tolerance : float
        Equivalence margin of ``matches``.

    Returns
    -------
    list of dict
        ``a``, ``b``, ``budget`` plus the keys of :func:`paired_test`.
    """
    ref = next((r for r in rows if r["method"] == reference), None)
    budgeted = [r for r in rows if r["strategy"] != "all"]
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if ref is not None:
        pairs += [(r, ref) for r in budgeted]
    by_key = {(r["method"], r["budget"]): r for r in budgeted}
    for r in budgeted:
        if not r["method"].startswith("smar["):
            continue
        strategy = r["strategy"]
        for other in ("budget_only", "budget_only_up", "single_modal"):
            b = by_key.get((f"{other}[{strategy}]", r["budget"]))
            if b is not None:
                pairs.append((r, b))
    out = []
    for a, b in pairs:
        x, y = _paired_values(a, b)
        out.append({"a": a["method"], "b": b["method"], "budget": a["budget"], **paired_test(x, y, tolerance, alpha)})
    return out
