"""What the CLI's commands share to turn flags into settings: the run configuration (defaults < config file <
``--set`` < explicit flags), feature plugins and dataset ``--option`` values. Commands import this module, never
each other."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from smar_ltr.annotation.label_cost import validation_read_mode
from smar_ltr.config import RunConfig, load_config
from smar_ltr.core.settings_io import parse_key_values
from smar_ltr.errors import ConfigError, SettingNote


def load_plugins(plugins: list[Path] | None, strict: bool) -> None:
    """Load the installed feature plugins (entry points) and the plugin files given with ``--plugin``."""
    from smar_ltr.features import FEATURES

    FEATURES.load(strict=strict)
    for path in plugins or []:
        FEATURES.load_file(path)


def build_config(
    dataset: str | None,
    data_dir: Path | None,
    config: Path | None,
    overrides: list[str] | None,
    budget: float | None,
    strategy: str | None,
    backend: str | None,
    seed: int | None,
    validation: str | None = None,
    note_unread_validation: bool = True,
) -> RunConfig:
    """Defaults < config file < --set < explicit flags.

    An explicit ``--validation budgeted|full`` that the run's early stopping does not read gets a note (``tune``,
    which stops on labels itself, passes ``note_unread_validation=False``).
    """
    fields: dict[str, Any] = {
        "dataset": dataset,
        "data_dir": checked_data_dir(data_dir),
        "seed": seed,
    }
    b = {k: v for k, v in (("budget", budget), ("strategy", strategy), ("validation", validation)) if v is not None}
    if b:
        fields["budget"] = b
    if backend is not None:
        fields["reranker"] = {"backend": backend}
        fields["single_modal"] = {"backend": backend}
    cfg = load_config(config, overrides, **fields)
    if data_dir is not None:
        from smar_ltr.datasets import get_dataset

        if not get_dataset(cfg.dataset).needs_files:  # the folder would be ignored without a word
            raise ConfigError(
                f"--data-dir is given but dataset {cfg.dataset!r} is generated and reads no files; name the "
                "dataset of those files, e.g. --dataset pages (smar-ltr datasets list)"
            )
    if note_unread_validation and validation not in (None, "none") and validation_read_mode(cfg) == "none":
        warnings.warn(
            f"--validation {validation} is not read: early stopping runs on the consistency loss, which reads no "
            "validation label; add --set consistency.early_stopping=labels to stop on the labels",
            SettingNote,
            stacklevel=2,
        )
    return cfg


def checked_data_dir(data_dir: Path | None) -> str | None:
    """``--data-dir`` as an absolute path (a run stays usable from any folder), refused when it is a file."""
    if data_dir is None:
        return None
    if data_dir.exists() and not data_dir.is_dir():  # a missing folder: the dataset's adapter names its files
        raise ConfigError(f"--data-dir {str(data_dir)!r} is a file; pass the folder that holds it")
    return str(data_dir.resolve())


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are parsed as JSON when they can be (numbers, true, null)."""
    return parse_key_values(items or [], "--option", "--option valid_fraction=0.2", decode=True)
