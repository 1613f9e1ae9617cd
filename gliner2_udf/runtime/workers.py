"""Worker processes for in-process extraction on a multi-core CPU: one process per core, one thread each.

A GLiNER2 model is small (MiniLM: 6 layers of 384 wide), so its matrix products are short and every one
of them ends in a barrier; tokenising, windowing and decoding hold the GIL. Two threads in one process
therefore scale badly: on the 2-core benchmark machine 1 -> 2 threads took fp32 from 17 to 28 docs/s and
int8 from 36 to 57. Two single-threaded processes scale almost linearly, which is what Spark already does
with one Python worker per core.

``GLiNER2.set_workers(n)`` forks ``n`` such workers. They share the loaded weights copy-on-write (fork
start method), so nothing is pickled or re-read; ``batch_extract`` then deals them chunks of texts, long
texts first so the last chunks are the short ones, and returns the results in the caller's order. Each
text's result is what the model gives in one process: batches only group texts. (In fp32 exactly; int8
quantizes activations with one scale per batch, so there a borderline score can move with its batch-mates,
in one process as much as in workers.)
"""

from __future__ import annotations

import multiprocessing
import weakref

_model = None  # the model, in a worker process


def _init(model) -> None:
    global _model
    if model._workers is not None:  # a replacement worker, forked after the pool was set up:
        model._workers._finalizer.detach()  # its copy of the pool is not its to close
    model._workers = None  # a worker extracts itself, it never forwards
    model.set_threads(1)
    _model = model


def _extract(args):
    return _model.extract_with(*args)


class Workers:
    """``n`` forked processes holding ``model``; closed when the model is garbage-collected or replaced."""

    def __init__(self, model, n: int):
        self.n = n
        self._pool = multiprocessing.get_context("fork").Pool(n, initializer=_init, initargs=(model,))
        self._finalizer = weakref.finalize(self, self._pool.terminate)

    def close(self) -> None:
        self._finalizer()

    def extract_with(self, texts: list, schema, options, include_confidence: bool, include_spans: bool) -> list[dict]:
        """``GLiNER2.extract_with`` over the workers, results in the order of ``texts``."""
        chunks = chunk_order(texts, options.batch_size, self.n)
        args = [([texts[i] for i in c], schema, options, include_confidence, include_spans) for c in chunks]
        return in_order(chunks, self._pool.imap(_extract, args), len(texts))


def chunk_order(texts: list, batch_size: int, n: int) -> list[list[int]]:
    """Indices of ``texts`` in chunks for ``n`` workers: longest texts first, so the last chunks are short;
    small enough that the workers finish together, large enough for full batches."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]) if isinstance(texts[i], str) else 0)
    size = max(batch_size, min(4 * batch_size, -(-len(texts) // (4 * n))))
    return [order[a : a + size] for a in range(0, len(order), size)]


def in_order(chunks: list[list[int]], chunk_results, n: int) -> list:
    """The per-chunk results of ``chunk_order``'s chunks, back in the order of the ``n`` texts."""
    out: list = [None] * n
    for chunk, results in zip(chunks, chunk_results):
        for i, r in zip(chunk, results):
            out[i] = r
    return out
