"""A build's chunks extracted on a Dask distributed cluster (`matching.runners`).

Why Dask rather than Ray: the work is a flat map of one pure function over chunks,
which Dask's futures do with a pip-installed, pure-Python scheduler; the same code runs
on a `LocalCluster` in tests and on a real cluster given its scheduler's address, and
results come back to the client, which alone writes the work folder (workers need the
reference images, under the same root path, and nothing else).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from features.extraction_file import ChunkExtractions
from matching.build_work import Chunk
from matching.runners import ONE_THREAD, Runner, Task, extract_chunk


def dask_runner(client) -> Runner:
    """A runner submitting each chunk to `client` (a ``distributed.Client``), as many in
    flight as the cluster has worker threads, and yielding them as they finish."""

    def run(tasks: Sequence[Task], root: Path, seed: int) -> Iterator[tuple[Chunk, ChunkExtractions]]:
        from distributed import as_completed

        futures = {client.submit(extract_chunk, chunk, config, str(root), seed, pure=False): chunk
                   for chunk, config in tasks}
        try:
            for future in as_completed(futures):
                chunk = futures.pop(future)
                yield chunk, future.result()
                future.release()
        finally:  # an abandoned build leaves nothing running on the cluster
            client.cancel(list(futures))

    return run


def connect(address: str, local_workers: int = 2):
    """A ``distributed.Client``: to the scheduler at `address`, or with ``local`` to a
    new local cluster of `local_workers` processes of one thread each."""
    from distributed import Client

    if address == "local":  # the client owns this cluster: closing it stops the workers
        return Client(n_workers=local_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=ONE_THREAD)
    return Client(address)
