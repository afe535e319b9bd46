"""Metric names as strings: ``ndcg@10``, ``ndcg@10(gain=linear,empty=zero)``, ``mrr@10(rel=2)``, ``bndcg``.

Grammar (whitespace around the parts is ignored, the metric name is case-insensitive)::

    metric := name [ "@" k ] [ "(" key "=" value { "," key "=" value } ")" ]

``k`` is a positive integer; omitted, the metric covers the whole list. The parameters each metric accepts
(and their defaults) are in :data:`METRIC_PARAMS`; :func:`parse_metric` fills the defaults in, so a
:class:`MetricSpec` always states every convention it is computed with. The definitions live in
:mod:`smar_ltr.metrics.ranking`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from smar_ltr.errors import ConfigError

ParamValue = str | float

#: Allowed values of the choice parameters.
GAINS = ("exp", "linear")
EMPTY_POLICIES = ("one", "zero", "skip")

#: Per metric: ``(takes_k, {param: default})``. A ``str`` default is a choice from :data:`GAINS` /
#: :data:`EMPTY_POLICIES`; a ``float`` default is a positive number.
METRIC_PARAMS: dict[str, tuple[bool, dict[str, ParamValue]]] = {
    "ndcg": (True, {"gain": "exp", "empty": "one"}),
    "bndcg": (False, {"rel": 1.0, "empty": "zero"}),
    "mrr": (True, {"rel": 1.0, "empty": "zero"}),
    "map": (True, {"rel": 1.0, "empty": "zero"}),
    "precision": (True, {"rel": 1.0, "empty": "zero"}),
    "recall": (True, {"rel": 1.0, "empty": "zero"}),
    "err": (True, {"gmax": 4.0, "empty": "zero"}),
    "modal_agreement": (False, {}),
    "modal_tau": (False, {}),
}

#: ir_measures-style spellings accepted as synonyms (``P@10``, ``RR@10``, ``AP@10``, ``R@10``).
ALIASES = {"p": "precision", "r": "recall", "rr": "mrr", "ap": "map"}

_CHOICES = {"gain": GAINS, "empty": EMPTY_POLICIES}
_GRAMMAR = re.compile(r"\s*([A-Za-z_]+)\s*(?:@\s*([^()\s]*)\s*)?(?:\((.*)\))?\s*", re.DOTALL)


@dataclass(frozen=True)
class MetricSpec:
    """A parsed metric name.

    Attributes
    ----------
    name : str
        Canonical metric name, one of :data:`METRIC_PARAMS` (aliases resolved).
    k : int or None
        Cut-off; ``None`` means the whole list (and is the only value for ``bndcg`` and the modal metrics).
    params : tuple of (str, str or float)
        Every parameter of the metric with its value (defaults filled in), sorted by key.
    """

    name: str
    k: int | None
    params: tuple[tuple[str, ParamValue], ...]

    def param(self, key: str) -> ParamValue:
        """Value of parameter ``key`` (raises :class:`KeyError` when the metric has no such parameter)."""
        return dict(self.params)[key]

    def __str__(self) -> str:
        """Canonical spelling, e.g. ``ndcg@10(empty=one,gain=exp)``; parses back to an equal spec."""
        cut = f"@{self.k}" if self.k is not None else ""
        body = ",".join(f"{key}={_format_value(value)}" for key, value in self.params)
        return f"{self.name}{cut}({body})" if body else f"{self.name}{cut}"


def _format_value(value: ParamValue) -> str:
    return f"{value:g}" if isinstance(value, float) else value


def valid_metrics_line() -> str:
    """One line listing every metric with its parameters and their allowed values."""
    parts = []
    for name, (takes_k, defaults) in METRIC_PARAMS.items():
        params = ",".join(
            f"{key}={'|'.join(_CHOICES[key])}" if key in _CHOICES else f"{key}=<number>" for key in defaults
        )
        parts.append(f"{name}{'[@k]' if takes_k else ''}{f'({params})' if params else ''}")
    return "valid metrics: " + ", ".join(parts) + f" (aliases: {', '.join(f'{a}={b}' for a, b in ALIASES.items())})"


def parse_metric(name: str | MetricSpec) -> MetricSpec:
    """Parse a metric string into a :class:`MetricSpec`.

    Parameters
    ----------
    name : str or MetricSpec
        E.g. ``"ndcg@10"``, ``"ndcg@10(gain=linear,empty=zero)"``, ``"mrr@10(rel=2)"``, ``"bndcg"``,
        ``"modal_tau"``. A :class:`MetricSpec` is returned unchanged.

    Returns
    -------
    MetricSpec
        With every parameter's default filled in.

    Raises
    ------
    ConfigError
        Unknown metric, unknown or repeated parameter, bad parameter value, or a bad ``k`` (not a positive
        integer, or given to a metric that takes none). The one-line message lists what is valid.
    """
    if isinstance(name, MetricSpec):
        return name
    if not isinstance(name, str):
        raise ConfigError(f"metric names must be strings, got {type(name).__name__} {name!r}; {valid_metrics_line()}")
    match = _GRAMMAR.fullmatch(name)
    if match is None:
        raise ConfigError(f"cannot parse metric {name!r} (expected name[@k][(key=value,...)]); {valid_metrics_line()}")
    raw, raw_k, raw_params = match.group(1).lower(), match.group(2), match.group(3)
    canonical = ALIASES.get(raw, raw)
    if canonical not in METRIC_PARAMS:
        close = difflib.get_close_matches(raw, [*METRIC_PARAMS, *ALIASES], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown metric {raw!r} in {name!r}{hint}; {valid_metrics_line()}")
    takes_k, defaults = METRIC_PARAMS[canonical]
    k = _parse_k(name, canonical, raw_k, takes_k)
    params = dict(defaults)
    if raw_params is not None:
        params.update(_parse_params(name, canonical, raw_params, defaults))
    return MetricSpec(name=canonical, k=k, params=tuple(sorted(params.items())))


def _parse_k(name: str, metric: str, raw_k: str | None, takes_k: bool) -> int | None:
    if raw_k is None:
        return None
    if not takes_k:
        why = "it is cut at the number of relevant items" if metric == "bndcg" else "it covers whole lists"
        raise ConfigError(f"metric {metric!r} takes no @k ({why}); write {metric!r} instead of {name!r}")
    if not re.fullmatch(r"[0-9]+", raw_k) or int(raw_k) < 1:
        raise ConfigError(f"bad cut-off {raw_k!r} in metric {name!r}: k must be a positive integer, as in ndcg@10")
    return int(raw_k)


def _parse_params(name: str, metric: str, raw: str, defaults: dict[str, ParamValue]) -> dict[str, ParamValue]:
    allowed = ", ".join(
        f"{key}={'|'.join(_CHOICES[key])}" if key in _CHOICES else f"{key}=<positive number>" for key in defaults
    )
    allowed = allowed or "none"
    out: dict[str, ParamValue] = {}
    for item in raw.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key or not value:
            raise ConfigError(
                f"bad parameter {item.strip()!r} in metric {name!r}: write key=value; {metric} takes {allowed}"
            )
        key = key.lower()
        if key not in defaults:
            raise ConfigError(f"unknown parameter {key!r} in metric {name!r}; {metric} takes {allowed}")
        if key in out:
            raise ConfigError(f"parameter {key!r} given twice in metric {name!r}")
        if key in _CHOICES:
            if value.lower() not in _CHOICES[key]:
                raise ConfigError(f"bad value {value!r} for {key!r} in metric {name!r}; {metric} takes {allowed}")
            out[key] = value.lower()
        else:
            out[key] = _positive_number(name, key, value, allowed)
    return out


def _positive_number(name: str, key: str, value: str, allowed: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ConfigError(
            f"bad value {value!r} for {key!r} in metric {name!r}: need a positive number; takes {allowed}"
        )
    return number
