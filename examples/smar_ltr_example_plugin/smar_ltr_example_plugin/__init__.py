"""Example smar-ltr feature plugin (see ``features.py``)."""
