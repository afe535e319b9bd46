"""Errors smar-ltr raises for bad input.

Every error a user can cause derives from :class:`SmarError`; its message is one line that names what is
wrong and how to fix it. The CLI prints ``error: <message>`` for these and exits with code 1, never a
traceback.
"""

from __future__ import annotations


class SmarError(ValueError):
    """Base class of user-facing errors: one clear line, no traceback in the CLI."""


class PageTableError(SmarError):
    """A page table (or a file meant to become one) breaks the schema of ``datasets.md`` section 1."""


class ConfigError(SmarError):
    """A run configuration has an unknown key, a wrong type or an out-of-range value."""


class RegistryError(SmarError):
    """An unknown feature or dataset name, a duplicate registration, or a plugin that failed to load."""


class DatasetError(SmarError):
    """Dataset files are missing, or a file has a missing column, a wrong type or a broken join."""


class ArtifactError(SmarError):
    """A saved run is missing files, was tampered with, or does not match the data it is used on."""


class CampaignError(SmarError):
    """An annotation campaign refuses an operation: bad answers, a second plan, changed pages, a held lock."""


class ExportError(SmarError):
    """A reranker cannot be written in the requested search-engine format (backend or model shape unsupported)."""


class ClusterError(SmarError):
    """A distributed (Dask) run failed on the cluster: a worker died, a call timed out, a task raised."""


class SmarWarning(UserWarning):
    """Input accepted under a documented policy (e.g. columns ignored, queries that cannot rank).

    The message is one line that states the policy and how many rows, columns or queries it touched; the CLI
    prints it as ``warning: <message>`` on stderr.
    """


class SettingNote(SmarWarning):
    """A setting the user left unset was given a value that differs from the usual default (e.g. CatBoost's
    margin ``gamma=0``); the message names the setting and the value used. The CLI prints it as ``note: <message>``.
    """
