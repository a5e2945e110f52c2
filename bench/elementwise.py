"""The elementwise passes on one core or two (issue 28, item 2): NumPy whole-array, split in
halves over two threads (ufuncs release the GIL), and numexpr where installed; prints the
paired ratios, interleaved, and whether each way gives NumPy's bits.

    .venv/bin/python bench/elementwise.py [ROUNDS]

Cases: ``tanh`` of the 784-700-1000-10 step's hidden pre-activations (1000 × 100 and
700 × 100, float32), ``c ⊙ (1 − x²)`` (tanh's δ) on them, and ``tanh`` on flat arrays of
2^14 … 2^24 elements (Song Fig. 2's (p × n) passes reach 10^7). BENCHMARKS.md, "The
elementwise passes on both cores", has the numbers and the load they were taken under.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:
    import numexpr
except ImportError:  # optional: the bench reports the NumPy ways alone
    numexpr = None

POOL = ThreadPoolExecutor(1)
STEP_SHAPES = ((1, 1000, 100), (1, 700, 100))


def halves(f, arrays, out):
    """``f(*arrays, out=out)`` with the second half of the flat arrays on a pool thread."""
    flat, o = [a.reshape(-1) for a in arrays], out.reshape(-1)
    m = o.size // 2
    later = POOL.submit(f, *(a[m:] for a in flat), out=o[m:])
    f(*(a[:m] for a in flat), out=o[:m])
    later.result()


def delta(c, x, out):  # c ⊙ (1 − x²), as network.layer_error forms it for tanh
    np.multiply(c, 1.0 - x * x, out=out)


def ways(kind: str) -> dict:
    """name -> f(arrays, out) for ``kind`` (``tanh`` or ``delta``)."""
    f = np.tanh if kind == "tanh" else delta
    out = {"numpy": lambda a, o: f(*a, out=o), "split": lambda a, o: halves(f, a, o)}
    if numexpr is not None:
        expression = "tanh(a)" if kind == "tanh" else "a * (1 - b * b)"
        out["numexpr"] = lambda a, o: numexpr.evaluate(expression, dict(zip("ab", a)), out=o)
    return out


def paired(kind: str, shapes, rounds: int, calls: int = 10) -> dict:
    """Median over rounds of each way's time over ``numpy``'s, interleaved; and its bits."""
    rng = np.random.default_rng(0)
    data = [[rng.standard_normal(s).astype(np.float32) for _ in range(1 if kind == "tanh" else 2)] for s in shapes]
    if kind == "delta":
        data = [[c, np.tanh(h)] for c, h in data]
    outs = [np.empty(s, np.float32) for s in shapes]
    fs, times = ways(kind), {}
    for r in range(rounds):
        for name in list(fs)[r % len(fs):] + list(fs)[:r % len(fs)]:
            start = time.perf_counter()
            for _ in range(calls):
                for a, o in zip(data, outs):
                    fs[name](a, o)
            times.setdefault(name, []).append(time.perf_counter() - start)
    want = [np.empty_like(o) for o in outs]
    for a, o in zip(data, want):
        fs["numpy"](a, o)
    result = {"numpy_us": round(1e6 * float(np.median(times["numpy"])) / calls, 1)}
    for name, f in fs.items():
        got = [np.empty_like(o) for o in outs]
        for a, o in zip(data, got):
            f(a, o)
        ratio = np.array(times[name]) / np.array(times["numpy"])
        result[name] = {"over_numpy": round(float(np.median(ratio)), 3),
                        "same_bits": all(np.array_equal(g, w) for g, w in zip(got, want))}
    return result


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    print(json.dumps({"load_start": os.getloadavg()[0], "numexpr": getattr(numexpr, "__version__", None)}))
    for kind in ("tanh", "delta"):
        print(json.dumps({"case": f"{kind} of the step", **paired(kind, STEP_SHAPES, rounds)}), flush=True)
    for power in range(14, 25, 2):
        print(json.dumps({"case": f"tanh of 2^{power}", **paired("tanh", [(1 << power,)], max(20, rounds >> (power - 14) // 2),
                                                                  calls=max(1, (1 << 20) >> power))}), flush=True)
    print(json.dumps({"load_end": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
