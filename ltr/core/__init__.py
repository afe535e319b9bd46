"""Shared machinery below every stage: atomic writes, value coercion and settings files, the plugin registry,
progress lines, OpenMP wait settings and the numba kernels' thread count."""
