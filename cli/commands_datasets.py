"""placeholder, filled by the datasets helper."""
