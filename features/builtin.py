"""The built-in features, registered through the ``smar_ltr.features`` entry point like any plugin.

``pyproject.toml`` declares ``builtin = "smar_ltr.features.builtin"``; importing this module imports every
built-in feature module, whose ``@register_feature`` decorators fill :data:`smar_ltr.features.FEATURES`.
"""

from __future__ import annotations

from smar_ltr.features import (  # noqa: F401  (imported for their registrations)
    alignment_features,
    engagement_features,
    modality_features,
    query_features,
    text_features,
)
