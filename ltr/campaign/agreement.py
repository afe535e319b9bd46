"""Several annotators per item: one grade from their answers, and how much they agree.

Aggregation rules (``--aggregate``), applied when an item has all its answers:

``majority``
    the most frequent grade; a tie between grades (no single most frequent one, e.g. ``1, 2, 3``) goes to the
    lower median of all the item's answers (``1, 2, 3 -> 2``; ``1, 1, 3, 3 -> 1``) and is listed as a tie.
``median``
    the lower median of the answers (odd counts: the median; even counts with two different middle grades: the
    lower one, listed as a tie).
``strict``
    every answer must give the same grade; a disagreement is refused.

Agreement: Krippendorff's alpha for ordinal data (K. Krippendorff, *Computing Krippendorff's Alpha-Reliability*,
2011, section C), over the items with at least two grades; skips are not grades and take no part. It is computed
here rather than taken from the ``krippendorff`` package because that package is GPL-3.0 and this one Apache-2.0;
``tests/test_campaign_team.py`` checks it against the worked example of that paper.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

AGGREGATES: tuple[str, ...] = ("majority", "median", "strict")


def lower_median(grades: Sequence[int]) -> int:
    """The lower median of a non-empty list of grades."""
    ordered = sorted(grades)
    return int(ordered[(len(ordered) - 1) // 2])


def aggregate_grades(grades: Sequence[int], rule: str) -> tuple[int | None, bool]:
    """One grade from an item's answers under ``rule`` (module docstring).

    Returns
    -------
    (grade, tie)
        The grade (None under ``strict`` when the answers disagree) and whether a tie was resolved.
    """
    if not grades:
        raise ValueError("an item needs at least one grade to aggregate")
    if rule == "strict":
        return (int(grades[0]), False) if len(set(grades)) == 1 else (None, False)
    if rule == "median":
        ordered = sorted(grades)
        n = len(ordered)
        return lower_median(ordered), n % 2 == 0 and ordered[n // 2 - 1] != ordered[n // 2]
    if rule == "majority":
        counts = Counter(grades).most_common()
        top = [g for g, c in counts if c == counts[0][1]]
        if len(top) == 1:
            return int(top[0]), False
        return lower_median(grades), True
    raise ValueError(f"aggregation rule must be one of {', '.join(AGGREGATES)}, got {rule!r}")


def ordinal_alpha(units: Iterable[Sequence[int]]) -> float | None:
    """Krippendorff's alpha (ordinal metric) of the grades given to each unit.

    Parameters
    ----------
    units : iterable of sequences of int
        The grades of each unit (item) by its annotators; units with fewer than two grades are not pairable and
        are left out.

    Returns
    -------
    float or None
        ``1 - D_o / D_e`` (1 = perfect agreement, 0 = chance level); None when fewer than two pairable grades
        exist or every grade is the same value (no expected disagreement: alpha is undefined).
    """
    pairable = [list(map(int, u)) for u in units if len(u) >= 2]
    if not pairable:
        return None
    values = sorted({g for u in pairable for g in u})
    if len(values) < 2:
        return None
    index = {v: i for i, v in enumerate(values)}
    coincidence = np.zeros((len(values), len(values)))
    for unit in pairable:
        counts = np.bincount([index[g] for g in unit], minlength=len(values)).astype(np.float64)
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (len(unit) - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    cum = np.concatenate([[0.0], np.cumsum(n_c)])
    # ordinal distance: (sum of n_g for g from c to k, minus half of n_c and n_k), squared
    lo, hi = (
        np.minimum.outer(np.arange(len(values)), np.arange(len(values))),
        np.maximum.outer(np.arange(len(values)), np.arange(len(values))),
    )
    delta = (cum[hi + 1] - cum[lo] - (n_c[lo] + n_c[hi]) / 2.0) ** 2
    observed = (coincidence * delta).sum()
    expected = (np.outer(n_c, n_c) * delta).sum() / (n - 1)
    return float(1.0 - observed / expected) if expected > 0 else None
