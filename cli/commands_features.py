"""placeholder, filled by the features helper."""
