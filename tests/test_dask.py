"""Work units on Dask distributed, loopback only: a 2-worker ``LocalCluster`` equals the
in-process run bit for bit; a worker killed mid-sweep and a driver killed with ``kill -9``
lose nothing and duplicate nothing; an unreachable scheduler and a missing Dask are one-line
errors. Needs the ``cluster`` extra (``pip install 'minifa[cluster]'``); skipped without it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path

import pytest

from minifa.experiments import chu_fig3, experiment
from minifa.experiments.executors import ClusterError, LocalExecutor, make_executor
from minifa.experiments.runner import run_experiment
from minifa.experiments.store import Results

from .test_experiments import assert_same_results, unit_arrays

ROOT = Path(__file__).resolve().parents[1]
HAVE_DASK = find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="needs Dask distributed: pip install 'minifa[cluster]'")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny Figure 3 sweep in this process at one BLAS thread, as every Dask task runs:
    what every executor must reproduce (bits depend on the thread count, so both sides pin it)."""
    return unit_arrays(run_experiment(experiment("chu-fig3"), "tiny", tmp_path_factory.mktemp("local"),
                                      executor=LocalExecutor(blas_threads=1)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_dask
def test_two_local_workers_equal_the_local_run_bit_for_bit(tmp_path, reference):
    reported = []
    with make_executor("local:2") as executor:
        assert len(executor.client.nthreads()) == 2 and "2 workers" in executor.describe()
        path = run_experiment(experiment("chu-fig3"), "tiny", tmp_path, executor=executor,
                              on_unit=lambda done, total, unit, s: reported.append(done))
    assert reported == list(range(len(reference) + 1))  # the progress bar sees every completion once
    assert_same_results(unit_arrays(path), reference)


@needs_dask
def test_one_blas_thread_here_equals_one_per_worker_on_wide_layers(tmp_path):
    """Wide enough layers that OpenBLAS splits its GEMMs (whose last bits depend on the
    thread count): one BLAS thread in this process equals one per Dask worker."""
    wide = {"layers": [784, 256, 256, 10], "alignments": [-1.0, 0.5], "scales_bc": [0.05]}
    module = experiment("chu-fig3")
    local = run_experiment(module, "tiny", tmp_path / "local", wide, executor=make_executor(None, blas_threads=1))
    with make_executor("local:2") as executor:
        dask = run_experiment(module, "tiny", tmp_path / "dask", wide, executor=executor)
    assert_same_results(unit_arrays(dask), unit_arrays(local))


SLOW_SECONDS = 1.0


def slow_run_unit(config, unit):
    """Figure 3's unit, made slow enough that a worker can be killed in the middle of one."""
    time.sleep(SLOW_SECONDS)
    return chu_fig3.run_unit(config, unit)


SLOW_FIG3 = replace(chu_fig3.FIGURE, run_unit=slow_run_unit)


@needs_dask
def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path, reference):
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    killed, reported = {}, []
    try:
        with make_executor(cluster.scheduler_address) as executor:  # the tcp:// path
            client = executor.client

            def kill_a_busy_worker(done, total, unit, seconds):
                reported.append(unit.key if unit else None)
                if unit is None or killed:
                    return
                busy = {w: keys for w, keys in client.processing().items() if keys}
                worker = sorted(busy)[0]
                killed.update(pid=client.run(os.getpid, workers=[worker])[worker], keys=list(busy[worker]))
                os.kill(killed["pid"], signal.SIGKILL)

            path = run_experiment(SLOW_FIG3, "tiny", tmp_path, executor=executor, on_unit=kill_a_busy_worker)
            assert killed["keys"], "the killed worker had a unit in flight"
            assert killed["pid"] not in client.run(os.getpid).values()
    finally:
        cluster.close()
    units = [key for key in reported if key is not None]
    assert sorted(units) == sorted(reference) and len(set(units)) == len(units)  # each unit once
    assert_same_results(unit_arrays(path), reference)


@needs_dask
def test_an_unreachable_scheduler_is_a_quick_one_line_error():
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.perf_counter()
    with pytest.raises(ClusterError) as error:
        make_executor(address, connect_timeout=2)
    assert time.perf_counter() - start < 6
    assert address in str(error.value) and "\n" not in str(error.value)
    finished = subprocess.run([sys.executable, str(ROOT / "cli.py"), "reproduce", "chu-fig3", "--profile", "tiny",
                               "--scheduler", address, "--connect-timeout", "2"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1
    last = finished.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot reach the Dask scheduler at " + address) and "Traceback" not in finished.stderr


DRIVER = """
import sys
sys.path.insert(0, {root!r})
from minifa.experiments.executors import make_executor
from minifa.experiments.runner import run_experiment
from tests.test_dask import SLOW_FIG3
with make_executor("local:2") as executor:
    run_experiment(SLOW_FIG3, "tiny", {results!r}, executor=executor)
"""


@needs_dask
def test_scheduler_files_and_foreign_workers_are_one_line_errors(tmp_path):
    from minifa.experiments.dask_executor import run_on_worker

    with pytest.raises(ClusterError, match="scheduler file .*missing.json"):
        make_executor(str(tmp_path / "missing.json"))
    address = f"tcp://127.0.0.1:{free_port()}"
    (tmp_path / "scheduler.json").write_text(f'{{"type": "Scheduler", "address": "{address}"}}')
    with pytest.raises(ClusterError, match=f"{address} \\(from .*scheduler.json\\)"):
        make_executor(str(tmp_path / "scheduler.json"), connect_timeout=0.5)
    unit = chu_fig3.units(chu_fig3.PROFILES["tiny"])[0]
    with pytest.raises(ClusterError, match="same minifa on every worker"):
        run_on_worker(chu_fig3.run_unit, chu_fig3.PROFILES["tiny"], unit, 1, "0.0.0-other")


@needs_dask
def test_workers_with_another_minifa_are_refused_before_any_unit():
    from minifa.experiments.dask_executor import check_workers

    with make_executor("local:2") as executor:
        check_workers(executor.client)  # the same minifa: fine
        with pytest.raises(ClusterError, match=r"Dask worker tcp://127\.0\.0\.1:\d+ has minifa .*, the driver "
                                               r"minifa 0\.0\.0-other"):
            check_workers(executor.client, "0.0.0-other")


@needs_dask
def test_kill_9_of_a_dask_driver_resumes_and_leaves_no_workers(tmp_path, reference):
    import psutil

    results = tmp_path / "results"
    path = results / "chu-fig3.h5"
    driver = DRIVER.format(root=str(ROOT), results=str(results))
    process = subprocess.Popen([sys.executable, "-c", driver], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # kill the driver once it has written its first unit, others in flight
    time.sleep(random.Random().uniform(0.0, SLOW_SECONDS))
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = len(Results.load(path).units)
    assert 1 <= written < len(reference), "killed mid-sweep"
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert len(children) >= 2 and not alive, f"worker processes outlived their driver: {alive}"
    reported = []  # resume in this process: finished units are skipped whichever executor ran them
    run_experiment(experiment("chu-fig3"), "tiny", results, executor=LocalExecutor(blas_threads=1),
                   on_unit=lambda done, n, unit, s: reported.append(done))
    assert reported[0] == written
    assert_same_results(unit_arrays(path), reference)
    assert not list(results.glob("*.tmp"))


class Duplicating(LocalExecutor):
    """Reports every completion twice, as a cluster that reran a finished task might."""

    def map(self, function, config, units):
        for item in super().map(function, config, units):
            yield item
            yield item


def test_the_driver_writes_a_unit_reported_twice_once(tmp_path, reference):
    reported = []
    path = run_experiment(experiment("chu-fig3"), "tiny", tmp_path, executor=Duplicating(blas_threads=1),
                          on_unit=lambda done, total, unit, s: reported.append(unit and unit.key))
    assert sorted(reported[1:]) == sorted(reference)
    assert_same_results(unit_arrays(path), reference)


def test_a_scheduler_without_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    monkeypatch.delitem(sys.modules, "minifa.experiments.dask_executor", raising=False)
    with pytest.raises(ClusterError, match=r"pip install 'minifa\[cluster\]'") as error:
        make_executor("local:2")
    assert "\n" not in str(error.value)


def test_minifa_needs_no_dask_until_a_scheduler_is_named():
    """``minifa.experiments`` imports every module of its package, this one's included."""
    code = ("import sys; sys.modules['dask'] = sys.modules['distributed'] = None\n"
            "import minifa.cli, minifa.experiments\n"
            "from minifa.experiments.executors import ClusterError, make_executor\n"
            "assert make_executor(None).name == 'local'\n"
            "try:\n    make_executor('local:2')\nexcept ClusterError as err:\n    print(err)\n")
    finished = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert "pip install 'minifa[cluster]'" in finished.stdout


def test_scheduler_forms():
    assert make_executor(None).name == make_executor("local").name == "local"
    with pytest.raises(ClusterError, match="local:N"):
        make_executor("my-cluster")
