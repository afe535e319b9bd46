"""Stage 2.2 of the method: which candidates get page labels (budget strategies, iso-anchor search, allocation) and
what that costs (the honest label count)."""
