"""The page table: its schema and validation, the seeded query split, query groups and per-query random streams."""
