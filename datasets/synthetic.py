"""A whole-page search simulator: the built-in ``synthetic`` dataset.

**This is simulated data.** It exists so that every stage of smar-ltr can run, be tested and be benchmarked
without downloads; results on it say nothing about real search engines. ``PageSplits.info["simulated"]`` is
``True``.

Generative model (everything drawn from ``numpy.random.default_rng([seed, table])``):

1. **Queries.** Each query has a topic ``t_q`` (``n_topics`` topics, each owning a block of pseudo-words, see
   :mod:`smar_ltr.datasets.text_corpus`) and a preferred modality ``p_q`` (uniform). Its intent bonus per
   modality is ``b_qm = intent_strength * (1[m = p_q] - 1/M) + N(0, (intent_strength/4)^2)``. The query text
   holds 2-4 topic words and, with probability ``intent_text_rate``, an intent word of ``p_q`` (``"video"``,
   ``"watch"``, ``"photos"``, ``"how"``, ...; with probability ``misleading_intent_rate`` one of a random
   modality instead), so the intent is partly visible in the text.
2. **Candidates.** A page has ``page_size`` candidates whose modalities follow a per-page Dirichlet mix; with
   ``include_llm`` a fraction ``llm_rate`` of pages also gets one ``llm`` answer card. A candidate is on the
   query's topic with probability ``on_topic_rate``; its match quality ``u`` is Beta(2.5, 1.8) on topic and
   Beta(1, 5) off topic (answer cards: on topic, Beta(3, 2)). Latent within-modality relevance ``r = 4 u``.
3. **Labels.** Page relevance ``s = r + b_{q,m} + N(0, page_noise^2)``; ``page_label`` = number of thresholds
   :data:`PAGE_THRESHOLDS` below ``s`` (0..4). The single-modal label is
   ``modal_label = clip(round(a_m r + c_m + N(0, modal_label_noise^2)), 0, 4)`` with a per-modality
   calibration ``(a_m, c_m)`` (:data:`MODAL_CALIBRATION`: image labels inflated, video deflated), so
   single-modal grades are not comparable across modalities, while within a modality they are monotone in
   ``r`` up to noise.
4. **Features.** Modality ``m`` has its own columns ``f_<m>_0 ..`` (:data:`FEATURE_COUNTS`), NaN on rows of
   other modalities. About 60% are signal features ``scale * h(r + noise) + offset`` with a seeded monotone
   ``h`` (exp, sigmoid, cube, ...), the rest nuisance noise. Engagement (``impressions``, ``clicks``,
   ``likes``, ``dwell_time``; heavy-tailed counts) depends on an appeal
   ``r + b_{q,m} + N(0, engagement_noise^2)`` (a second, independent noisy view of page relevance), the
   display position and a per-modality click bias.
5. **Text.** ``title`` and ``body`` (web), ``caption`` (other modalities), ``answer`` (llm) are pseudo-word
   sequences; each token repeats a query term with probability rising in ``u``, so term overlap and BM25
   carry the relevance signal. Absent text is ``""``.
6. **Display order.** ``position`` 1..n ranks ``r + display_offset_m + N(0, upstream_noise^2)``: a plausible
   interleaving by a noisy upstream score. Rows of a query are stored in display order.

Tables: ``single_modal`` holds lists of one modality each (``sm-`` qids, ``page_label`` NA, ``modal_label``
set); ``train`` / ``valid`` / ``test`` are mixed pages (``tr-``, ``va-``, ``te-``) with both labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.core.coercion import coerce_value, replace_with_options
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.datasets.synthetic_config import TABLE_SHARES, SyntheticConfig
from smar_ltr.datasets.text_corpus import Vocabulary, compact_tokens, join_tokens
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.schema import validate_page_table
from smar_ltr.page_table.splits import PageSplits

__all__ = [
    "DEFAULT_FEATURE_COUNT",
    "ENGAGEMENT_COLUMNS",
    "FEATURE_COUNTS",
    "MODAL_CALIBRATION",
    "PAGE_THRESHOLDS",
    "TABLE_SHARES",
    "SyntheticConfig",
    "apply_options",
    "load_synthetic",
    "make_synthetic",
]

#: Page-relevance thresholds of the grades 1, 2, 3, 4.
PAGE_THRESHOLDS = np.array([1.25, 2.25, 3.05, 3.8])
#: Numeric feature columns per modality (other modalities get :data:`DEFAULT_FEATURE_COUNT`).
FEATURE_COUNTS: dict[str, int] = {"web": 10, "image": 6, "video": 8, "llm": 4}
DEFAULT_FEATURE_COUNT = 6
#: Single-modal label calibration ``(a_m, c_m)``: ``modal_label = clip(round(a_m r + c_m + noise), 0, 4)``.
MODAL_CALIBRATION: dict[str, tuple[float, float]] = {
    "web": (1.0, 0.0),
    "image": (0.9, 0.9),
    "video": (1.15, -0.6),
    "llm": (0.8, 0.5),
}
ENGAGEMENT_COLUMNS: tuple[str, ...] = ("impressions", "clicks", "likes", "dwell_time")
_TRANSFORMS = {
    "identity": lambda z: z,
    "exp": lambda z: np.exp(0.7 * z),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-1.5 * (z - 2.0))),
    "cube": lambda z: (z - 2.0) ** 3,
    "softplus": lambda z: np.logaddexp(0.0, 2.0 * z - 3.0),
    "arcsinh": lambda z: np.arcsinh(3.0 * (z - 1.0)),
}


@dataclass(frozen=True)
class _Design:
    """What all tables of one dataset share: vocabulary, feature transforms, calibrations, biases."""

    modalities: tuple[str, ...]
    vocab: Vocabulary
    features: dict[str, list[tuple[bool, float, str, float, float]]]  # signal, noise, transform, scale, offset
    calibration: np.ndarray  # (M, 2)
    display_offset: np.ndarray  # (M,)
    click_offset: np.ndarray  # (M,)
    intent_table: np.ndarray  # (M, k) intent word ids, padded by repetition
    intent_counts: np.ndarray  # (M,)

    @classmethod
    def build(cls, config: SyntheticConfig) -> _Design:
        rng = np.random.default_rng([config.seed, 0])
        mods = config.all_modalities
        vocab = Vocabulary.build(config.n_topics, mods)
        features: dict[str, list[tuple[bool, float, str, float, float]]] = {}
        kinds = list(_TRANSFORMS)
        for m in mods:
            k = FEATURE_COUNTS.get(m, DEFAULT_FEATURE_COUNT)
            n_signal = int(np.ceil(0.6 * k))
            features[m] = [
                (
                    j < n_signal,
                    config.feature_noise * float(rng.uniform(0.6, 2.0)),
                    kinds[int(rng.integers(0, len(kinds)))],
                    float(10 ** rng.uniform(-1, 2)),
                    float(rng.uniform(-20, 20)),
                )
                for j in range(k)
            ]
        calibration = np.array(
            [MODAL_CALIBRATION.get(m, (1.0 + 0.1 * (i % 3), 0.4 * ((i % 5) - 2))) for i, m in enumerate(mods)]
        )
        counts = np.array([len(vocab.intent_ids[m]) for m in mods])
        table = np.stack([np.resize(vocab.intent_ids[m], counts.max()) for m in mods])
        return cls(
            mods,
            vocab,
            features,
            calibration,
            rng.normal(0.0, 0.7, len(mods)),
            rng.normal(0.0, 0.4, len(mods)),
            table,
            counts,
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    return prefix + pd.Series(numbers, dtype="int64").astype("str").str.zfill(width)


def _simulate(
    config: SyntheticConfig,
    design: _Design,
    rng: np.random.Generator,
    n_queries: int,
    single_modality: np.ndarray | None,
    qid_prefix: str,
) -> pd.DataFrame:
    """One table: single-modal lists if ``single_modality`` (modality per query) is given, else pages."""
    mods, vocab, n_mod = design.modalities, design.vocab, len(design.modalities)
    n_base = len(config.modalities)
    # queries ------------------------------------------------------------------------------------------------
    topic = rng.integers(0, config.n_topics, n_queries)
    pref = rng.integers(0, n_mod, n_queries)
    bonus = config.intent_strength * ((np.arange(n_mod)[None, :] == pref[:, None]) - 1.0 / n_mod)
    bonus = bonus + rng.normal(0.0, config.intent_strength / 4, (n_queries, n_mod))
    n_terms = rng.integers(2, 5, n_queries)
    terms = vocab.topic_words(np.repeat(topic[:, None], 4, axis=1), rng)
    terms[np.arange(4)[None, :] >= n_terms[:, None]] = -1
    u = rng.random(n_queries)
    shown = np.where(u < config.intent_text_rate, pref, rng.integers(0, n_mod, n_queries))
    shown[u >= config.intent_text_rate + config.misleading_intent_rate] = -1
    pick = rng.integers(0, 1 << 30, n_queries) % design.intent_counts[np.maximum(shown, 0)]
    intent_word = np.where(shown >= 0, design.intent_table[np.maximum(shown, 0), pick], -1)
    front = rng.random(n_queries) < 0.5
    qtok = np.column_stack([np.where(front, intent_word, -1), terms, np.where(front, -1, intent_word)])
    qtok, qlen = compact_tokens(qtok)
    query_text = join_tokens(vocab, qtok, qlen, n_queries, np.arange(n_queries))
    # candidates ---------------------------------------------------------------------------------------------
    size_range = config.list_size if single_modality is not None else config.page_size
    sizes = rng.integers(size_range[0], size_range[1] + 1, n_queries)
    has_llm = np.zeros(n_queries, dtype=bool)
    if single_modality is None and config.include_llm:
        has_llm = rng.random(n_queries) < config.llm_rate
    total = sizes + has_llm
    n = int(total.sum())
    qi = np.repeat(np.arange(n_queries), total)
    starts = np.concatenate([[0], np.cumsum(total)[:-1]])
    within = np.arange(n) - starts[qi]
    if single_modality is None:
        mix = np.cumsum(rng.dirichlet(np.full(n_base, config.mix_alpha), n_queries), axis=1)
        mod = np.minimum((rng.random(n)[:, None] > mix[qi]).sum(axis=1), n_base - 1)
        is_llm = has_llm[qi] & (within == sizes[qi])
        mod[is_llm] = n_mod - 1
    else:
        mod = single_modality[qi]
        is_llm = np.asarray(config.include_llm) & (mod == n_mod - 1)
    on_topic = (rng.random(n) < config.on_topic_rate) | is_llm
    ctopic = np.where(on_topic, topic[qi], (topic[qi] + rng.integers(1, config.n_topics, n)) % config.n_topics)
    quality = np.where(on_topic, rng.beta(2.5, 1.8, n), rng.beta(1.0, 5.0, n))
    quality[is_llm] = rng.beta(3.0, 2.0, int(is_llm.sum()))
    r = 4.0 * quality
    # labels -------------------------------------------------------------------------------------------------
    page_rel = r + bonus[qi, mod] + rng.normal(0.0, config.page_noise, n)
    page_label = np.searchsorted(PAGE_THRESHOLDS, page_rel)
    a, c = design.calibration[mod, 0], design.calibration[mod, 1]
    modal_label = np.clip(np.round(a * r + c + rng.normal(0.0, config.modal_label_noise, n)), 0, 4).astype(np.int64)
    display = r + design.display_offset[mod] + rng.normal(0.0, config.upstream_noise, n)
    order = np.lexsort((-display, qi))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - starts[qi] + 1
    # columns ------------------------------------------------------------------------------------------------
    qid_by_query = _ids(qid_prefix, np.arange(n_queries), max(6, len(str(n_queries - 1))))
    width = max(3, len(str(int(total.max()))))
    cols: dict[str, Any] = {
        "qid": qid_by_query.take(qi).reset_index(drop=True),
        "item_id": _ids("c", within, width),
        "modality": pd.Categorical.from_codes(mod, categories=pd.Index(list(mods))),
        "page_label": pd.arrays.IntegerArray(page_label, np.full(n, single_modality is not None)),
        "modal_label": pd.array(modal_label, dtype="Int64"),
        "position": pd.array(position, dtype="Int64"),
        "query": query_text.take(qi).reset_index(drop=True),
    }
    text_spec = [("title", 4, 10, 0.10, 0.55), ("body", 15, 35, 0.05, 0.30), ("caption", 3, 9, 0.10, 0.50)]
    if config.include_llm:
        text_spec.append(("answer", 20, 40, 0.10, 0.40))
    web = mods.index("web") if "web" in mods else -1
    llm = n_mod - 1 if config.include_llm else -1
    for name, lo, hi, base, gain in text_spec:
        target = {"title": mod == web, "body": mod == web, "answer": mod == llm}.get(name, (mod != web) & (mod != llm))
        rows = np.flatnonzero(target)
        lens = rng.integers(lo, hi + 1, len(rows))
        p_overlap = (base + gain * quality[rows])[:, None]
        draw = rng.random((len(rows), hi))
        rq = qi[rows][:, None]
        from_query = terms[rq, (rng.random((len(rows), hi)) * n_terms[rq]).astype(np.int64)]
        from_topic = vocab.topic_words(np.broadcast_to(ctopic[rows][:, None], draw.shape), rng)
        tokens = np.where(draw < p_overlap, from_query, from_topic)
        tokens = np.where(draw > p_overlap + 0.6 * (1 - p_overlap), vocab.common_words(draw.shape, rng), tokens)
        cols[name] = join_tokens(vocab, tokens, lens, n, rows)
    for m_idx, m in enumerate(mods):
        rows = np.flatnonzero(mod == m_idx)
        for j, (signal, noise, kind, scale, offset) in enumerate(design.features[m]):
            z = r[rows] + noise * rng.normal(size=len(rows)) if signal else 4.0 * rng.random(len(rows))
            col = np.full(n, np.nan)
            col[rows] = scale * _TRANSFORMS[kind](z) + offset
            cols[f"f_{m}_{j}"] = col
    appeal = r + bonus[qi, mod] + rng.normal(0.0, config.engagement_noise, n)
    impressions = np.floor(np.exp(rng.normal(3.0 + 0.1 * appeal, 1.3))) + 1
    ctr = _sigmoid(-2.5 + 0.5 * appeal + design.click_offset[mod] - 0.35 * np.log(position))
    clicks = rng.binomial(impressions.astype(np.int64), ctr)
    likes = rng.binomial(clicks, _sigmoid(-2.0 + 0.3 * appeal))
    dwell = np.where(clicks > 0, clicks * np.exp(rng.normal(2.5 + 0.2 * appeal, 0.8)), 0.0)
    cols.update(impressions=impressions, clicks=clicks.astype(float), likes=likes.astype(float), dwell_time=dwell)
    frame = pd.DataFrame(cols)
    return frame.take(order).reset_index(drop=True)


def make_synthetic(config: SyntheticConfig | None = None) -> PageSplits:
    """Generate the simulated whole-page dataset.

    Parameters
    ----------
    config : SyntheticConfig, optional
        Sizes, noise levels and seed; :meth:`SyntheticConfig.default` when omitted.

    Returns
    -------
    PageSplits
        ``single_modal`` (one-modality lists, ``modal_label`` only), ``train`` / ``valid`` / ``test`` (mixed
        pages with ``page_label`` and ``modal_label``), every table validated and sorted by ``qid``.
        ``modal_features[m]`` lists the ``f_<m>_*`` columns; ``page_features`` all numeric features including
        engagement. Each table uses its own random stream, so changing one table's size leaves the others.
    """
    config = config if config is not None else SyntheticConfig.default()
    design = _Design.build(config)
    n_mod = len(design.modalities)
    sm_modality = np.repeat(np.arange(n_mod), config.n_single_modal_queries)
    tables: dict[str, pd.DataFrame] = {}
    plan = [
        ("single_modal", 1, len(sm_modality), sm_modality, "sm-"),
        ("train", 2, config.n_train_pages, None, "tr-"),
        ("valid", 3, config.n_valid_pages, None, "va-"),
        ("test", 4, config.n_test_pages, None, "te-"),
    ]
    for role, stream, n_queries, single, prefix in plan:
        if n_queries == 0:
            continue
        rng = np.random.default_rng([config.seed, stream])
        frame = _simulate(config, design, rng, n_queries, single, prefix)
        tables[role] = validate_page_table(
            frame, require=("modal_label",), require_sorted=True, what=f"synthetic {role}"
        )
    modal_features = {m: [f"f_{m}_{j}" for j in range(len(design.features[m]))] for m in design.modalities}
    page_features = [c for cols in modal_features.values() for c in cols] + list(ENGAGEMENT_COLUMNS)
    empty = tables["train"].iloc[:0]
    return PageSplits(
        name="synthetic",
        single_modal=tables.get("single_modal", empty),
        train=tables["train"],
        valid=tables.get("valid"),
        test=tables["test"],
        modal_features=modal_features,
        page_features=page_features,
        info={
            "simulated": True,
            "max_label": len(PAGE_THRESHOLDS),  # page labels are graded 0..len(PAGE_THRESHOLDS)
            "source": "smar_ltr.datasets.synthetic (whole-page search simulator)",
            "licence": "generated data, no licence restrictions",
            "note": "simulated data: results say nothing about real search engines",
            "config": dataclasses.asdict(config),
        },
    )


#: The simulators' ``--option`` handling (kept under its old name; also used by ``letor``).
apply_options = replace_with_options


_PRESETS: dict[str, Callable[..., SyntheticConfig]] = {
    "small": SyntheticConfig.small,
    "default": SyntheticConfig.default,
    "large": SyntheticConfig.large,
}


def load_synthetic(data_dir: Any = None, seed: int = 0, **options: Any) -> PageSplits:
    """Registry loader; options ``size`` (small / default / large), ``n_candidates``, config fields."""
    size = str(options.pop("size", "default"))
    if size not in _PRESETS:
        raise ConfigError(f"synthetic option size={size!r} is unknown; choose one of {', '.join(_PRESETS)}")
    config = _PRESETS[size](seed=int(seed))
    n_candidates = options.pop("n_candidates", None)
    config = replace_with_options(config, options, "synthetic")
    if n_candidates is not None:
        config = config.with_candidates(coerce_value(n_candidates, int, "synthetic option n_candidates"))
    return make_synthetic(config)


register_dataset(
    DatasetSpec(
        name="synthetic",
        description="Simulated whole pages (web / image / video, optional llm card) with both label kinds",
        loader=load_synthetic,
        licence="generated data (no restrictions)",
        source="smar_ltr.datasets.synthetic",
        needs_files=False,
        options={"size": "default", "n_candidates": None, **dataclasses.asdict(SyntheticConfig())},
    )
)
