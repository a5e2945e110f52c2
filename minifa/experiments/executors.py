"""Executors run work units and hand back their results; only the driver writes files.

``LocalExecutor`` runs units one after another in this process. Every executor has
``map(function, config, units)`` yielding ``(unit, arrays, seconds)`` as units finish,
in any order."""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator


def timed(function: Callable, config: dict, unit):
    start = time.perf_counter()
    arrays = function(config, unit)
    return unit, arrays, time.perf_counter() - start


class LocalExecutor:
    name = "local"

    def map(self, function: Callable, config: dict, units: Iterable) -> Iterator:
        for unit in units:
            yield timed(function, config, unit)

    def close(self) -> None:
        pass
