"""Re-export of the one atomic writer and output checks (:mod:`smar_ltr.atomic`), for code that imports them
from the dataset package."""

from smar_ltr.atomic import (  # noqa: F401  (re-exported: the one atomic writer)
    check_output_location,
    current_umask,
    make_temporary_dir,
    remove_stale_temporaries,
    temporary_prefix,
    write_atomic,
    write_dir_atomic,
)
