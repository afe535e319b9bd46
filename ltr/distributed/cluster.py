"""Connect to a Dask cluster, or start a local one for the length of a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from smar_ltr.distributed.partitions import require_dask
from smar_ltr.errors import ClusterError, ConfigError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster


#: Scheduler settings of the clusters smar-ltr starts: no work stealing. A partition pinned to worker ``i mod n``
#: (:meth:`~smar_ltr.distributed.cluster_futures.ClusterFutures.pin`) is then read by the training library's own
#: tasks on that worker (a task goes where its one input is held); a scheduler that steals may move such a task
#: to an idle worker under load, and one worker then trains on every row (issue 27).
PLACEMENT = {"distributed.scheduler.work-stealing": False}


def local_cluster(n_workers: int, threads_per_worker: int = 1, **kwargs: Any) -> LocalCluster:
    """A ``LocalCluster`` of ``n_workers`` processes whose scheduler keeps tasks where their inputs are
    (:data:`PLACEMENT`); ``kwargs`` go to ``LocalCluster``."""
    import dask
    from distributed import LocalCluster

    options = {"processes": True, "dashboard_address": None, **kwargs}
    with dask.config.set(PLACEMENT):  # read when the scheduler starts
        return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **options)


#: Seconds a scheduler has to send its handshake when probed (a Dask scheduler sends it on accepting).
PROBE_TIMEOUT = 5.0
#: The largest handshake a scheduler sends (its first 8 bytes are the message length).
MAX_HANDSHAKE = 1 << 20


def check_scheduler_answers(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Refuse, in one line, a ``tcp://`` address where nothing listens or where the server is not a Dask
    scheduler (an HTTP server, a dashboard port): a Dask scheduler writes its handshake as soon as it accepts a
    connection, a length-prefixed message; anything else would leave the client waiting, or reading an HTTP
    reply as a frame length (``Unable to allocate 3.07 EiB``). Other protocols (``tls://``, ``ucx://``) are left
    to the client."""
    import socket

    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--scheduler {address!r} is not an address such as tcp://host:8786")
    hint = "pass the Dask scheduler's address (tcp://host:8786 by default, not its dashboard)"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            conn.settimeout(timeout)
            head = b""
            while len(head) < 8:
                chunk = conn.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        raise ClusterError(
            f"{address!r} accepts connections but sent no Dask handshake within {timeout:g} s; it is not a Dask "
            f"scheduler: {hint}"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address!r} ({reason}); check the address") from None
    if len(head) < 8 or not 0 < int.from_bytes(head, "little") <= MAX_HANDSHAKE:
        raise ClusterError(f"{address!r} answered, but not as a Dask scheduler does: {hint}")


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
    from distributed import Client

    if (scheduler is None) == (workers is None):
        raise ConfigError("the Dask engine needs exactly one of --scheduler ADDRESS or --workers N")
    if scheduler is not None:
        check_scheduler_answers(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, MemoryError, ValueError) as exc:
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
    cluster = local_cluster(int(workers), threads_per_worker=threads_per_worker, memory_limit=memory_limit)
    client = Client(cluster)
    try:
        with client.as_current():  # a default client of the caller's does not receive this cluster's work
            yield client
    finally:
        client.close()
        cluster.close()
