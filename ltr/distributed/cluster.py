"""Connect to a Dask cluster, or start a local one for the length of a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from smar_ltr.distributed.partitions import require_dask
from smar_ltr.errors import ClusterError, ConfigError

if TYPE_CHECKING:
    from distributed import Client


@contextmanager
def dask_client(
    scheduler: str | None = None, workers: int | None = None, threads_per_worker: int = 1, memory_limit: str = "auto"
) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a ``LocalCluster`` of ``workers`` processes.

    The local cluster is started here and closed on exit (also on error); a remote cluster is left running.

    Raises
    ------
    ConfigError
        Both or neither of ``scheduler`` and ``workers``, or a worker count below 1.
    ClusterError
        The scheduler cannot be reached.
    """
    require_dask()
    from distributed import Client, LocalCluster

    if (scheduler is None) == (workers is None):
        raise ConfigError("the Dask engine needs exactly one of --scheduler ADDRESS or --workers N")
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); check the address") from None
        try:
            with client.as_current():
                yield client
        finally:
            client.close()
        return
    assert workers is not None
    if isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=threads_per_worker,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=None,
    )
    client = Client(cluster)
    try:
        with client.as_current():  # a default client of the caller's does not receive this cluster's work
            yield client
    finally:
        client.close()
        cluster.close()
