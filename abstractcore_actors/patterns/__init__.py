"""Concurrency patterns as supervisors: race, race_stream, ensemble, hedge,
hedge_stream, batch."""

from ._attempts import Attempt as Attempt
from ._attempts import PatternResult as PatternResult
from ._attempts import Status as Status
from ._batch import BatchResult as BatchResult
from ._batch import batch as batch
from ._ensemble import ensemble as ensemble
from ._ensemble import normalise as normalise
from ._hedge import hedge as hedge
from ._race import race as race
from ._race_stream import RacedStream as RacedStream
from ._race_stream import hedge_stream as hedge_stream
from ._race_stream import race_stream as race_stream

__all__ = [
    "Attempt",
    "BatchResult",
    "PatternResult",
    "RacedStream",
    "Status",
    "batch",
    "ensemble",
    "hedge",
    "hedge_stream",
    "normalise",
    "race",
    "race_stream",
]
