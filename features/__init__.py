"""Feature registry and built-in cross-modal feature extractors (``smar_ltr.features``)."""
