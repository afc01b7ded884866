"""Runs a cohort in chunks of patients, serially or in worker processes.

Patients share no resource unless an infusion unit is modelled, so without one each
patient's process runs to its end on its own: its waits are only the patient's own
clock moving on, and no SimPy event queue is needed to order them (with a unit, a whole
replication shares one SimPy environment and its chairs). Chunks come back in patient order whatever the number
of workers, and every patient's draws come from its own stream, so the tables
are identical for any `workers` and `chunk_size`.
"""

from __future__ import annotations

import gc
import math
import os
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass

import pyarrow as pa
import simpy

from iimsim.scenarios.schema import Scenario
from iimsim.simulation.arrivals import diagnosis_days
from iimsim.simulation.engine import Engine
from iimsim.simulation.model import CompiledScenario
from iimsim.simulation.recorder import BatchRecorder
from iimsim.simulation.infusion_unit import InfusionUnit

DEFAULT_CHUNK_SIZE = 2000


class OwnClock:
    """The environment of a patient who shares nothing: a wait is the patient's own clock moving on,
    which the process already keeps, so it costs nothing and needs no event queue."""

    @staticmethod
    def timeout(delay: float) -> None:
        return None


OWN_CLOCK = OwnClock()


def run_alone(engine: Engine, patient) -> None:
    """One patient's process from diagnosis to the end of follow-up, with nobody to wait for."""
    deque(engine.life(OWN_CLOCK, patient), maxlen=0)


@dataclass(frozen=True)
class Chunk:
    replication: int
    first_patient_id: int
    patients: int
    diagnosis_days: tuple[float, ...] = ()  # an open cohort's calendar days of diagnosis; empty: all at 0


def chunks(scenario: Scenario, chunk_size: int) -> list[Chunk]:
    """The cohort in chunks of `chunk_size` patients; with an infusion unit, a replication's patients
    share its chairs, so each replication is one chunk."""
    out = []
    for rep in range(scenario.simulation.replications):
        days = diagnosis_days(scenario, rep)
        open_cohort = scenario.region is not None
        if scenario.infusion_unit is not None:
            chunk_size = max(1, len(days))
        for first in range(0, len(days), chunk_size):
            part = days[first:first + chunk_size]
            out.append(Chunk(rep, first, len(part), tuple(part.tolist()) if open_cohort else ()))
    return out


def cohort_size(scenario: Scenario) -> int:
    """Patients over all replications (an open cohort's arrivals are drawn to count them)."""
    return sum(len(diagnosis_days(scenario, rep)) for rep in range(scenario.simulation.replications))


@contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector for one chunk.

    A chunk allocates many small long-lived objects (rows, courses), which makes
    the collector rescan them over and over (about a fifth of run time); what a
    chunk leaves behind is bounded by its size and collected once it resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def simulate_chunk(engine: Engine, chunk: Chunk) -> dict[str, pa.Table]:
    if engine.model.scenario.infusion_unit is not None:
        return simulate_with_unit(engine, chunk)
    with _collector_paused():
        recorder = BatchRecorder(chunk.replication, chunk.first_patient_id)
        engine.recorder = recorder
        for offset in range(chunk.patients):
            day = chunk.diagnosis_days[offset] if chunk.diagnosis_days else 0.0
            run_alone(engine, engine.new_patient(chunk.replication, chunk.first_patient_id + offset, day))
        engine.recorder = None
        return recorder.tables()


def simulate_with_unit(engine: Engine, chunk: Chunk) -> dict[str, pa.Table]:
    """A whole replication in one SimPy environment in calendar time, its patients sharing the
    infusion unit. The clock starts at the midnight before the earliest diagnosis."""
    with _collector_paused():
        recorder = BatchRecorder(chunk.replication, chunk.first_patient_id)
        engine.recorder = recorder
        origin_day = math.floor(min([0.0, *chunk.diagnosis_days]))
        env = simpy.Environment()
        engine.unit = InfusionUnit(env, engine.model.scenario.infusion_unit, origin_day,
                                   engine.model.horizon_days)
        for offset, day in enumerate(chunk.diagnosis_days):
            patient = engine.new_patient(chunk.replication, chunk.first_patient_id + offset, day)
            env.process(engine.life(env, patient, day - origin_day))
        env.run()
        tables = {**recorder.tables(), **engine.unit.tables(chunk.replication)}
        engine.recorder = engine.unit = None
        return tables


def collect_tables(scenario: Scenario, workers: int = 1, chunk_size: int = DEFAULT_CHUNK_SIZE,
                   backend: str = "processes") -> dict[str, pa.Table]:
    """The whole cohort's tables in memory (for small runs: validation, tests)."""
    batches: dict[str, list[pa.Table]] = {}
    for _, tables in run_cohort(scenario, workers=workers, chunk_size=chunk_size, backend=backend):
        for name, table in tables.items():
            batches.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in batches.items()}


def simulate_patient(scenario: Scenario, patient_id: int = 0, **chosen) -> dict[str, pa.Table]:
    """One patient of the scenario's cohort (replication 0), optionally with a chosen subtype,
    severity (`severe`) or `weight_kg`; the rest is drawn from the patient's own stream."""
    engine = Engine(CompiledScenario.compile(scenario))
    recorder = BatchRecorder(0, patient_id)
    engine.recorder = recorder
    run_alone(engine, engine.new_patient(0, patient_id, **chosen))
    return recorder.tables()


_worker_engine: Engine | None = None


def _init_worker(scenario_json: str) -> None:
    global _worker_engine
    # A terminal's Ctrl-C reaches every process of the group: the main process decides and stops the workers.
    # SIGTERM ends a worker at once (a forked worker would otherwise inherit the main process's handler).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _worker_engine = Engine(CompiledScenario.compile(Scenario.model_validate_json(scenario_json)))


def _simulate_in_worker(chunk: Chunk) -> dict[str, pa.Table]:
    return simulate_chunk(_worker_engine, chunk)


@lru_cache(maxsize=4)
def _engine_for(scenario_json: str) -> Engine:
    return Engine(CompiledScenario.compile(Scenario.model_validate_json(scenario_json)))


def simulate_chunk_of(scenario_json: str, chunk: Chunk) -> dict[str, pa.Table]:
    """A chunk of a scenario given as JSON: what a Dask worker runs (its engine is built once)."""
    return simulate_chunk(_engine_for(scenario_json), chunk)


def _in_order(work: list[Chunk], submit, window: int) -> Iterator[tuple[Chunk, dict[str, pa.Table]]]:
    """Each chunk's tables in the order of `work`, from futures `submit(chunk)` returns; at most `window` are in
    flight, so results never pile up in memory (and none is ever cancelled: a stop ends the workers instead)."""
    pending = deque()
    for chunk in work:
        pending.append((chunk, submit(chunk)))
        if len(pending) >= window:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _run_on_dask(scenario: Scenario, work: list[Chunk], workers: int, scheduler: str | None
                 ) -> Iterator[tuple[Chunk, dict[str, pa.Table]]]:
    """Chunks on Dask distributed (a local cluster without a scheduler address), in patient order.

    At most two chunks per worker are in flight, so results never pile up in memory.
    """
    from dask.distributed import Client, LocalCluster

    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        scenario_json = client.scatter(scenario.model_dump_json(), broadcast=True)
        window = max(2, 2 * len(client.scheduler_info()["workers"]))
        yield from _in_order(work, lambda chunk: client.submit(simulate_chunk_of, scenario_json, chunk, pure=False),
                             window)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_cohort(scenario: Scenario, workers: int = 1, chunk_size: int = DEFAULT_CHUNK_SIZE,
               backend: str = "processes", scheduler: str | None = None
               ) -> Iterator[tuple[Chunk, dict[str, pa.Table]]]:
    """Simulate the scenario's cohort; yields each chunk's tables in patient order, whatever the backend."""
    work = chunks(scenario, chunk_size)
    if backend == "dask":
        yield from _run_on_dask(scenario, work, workers, scheduler)
        return
    if workers <= 1 or len(work) == 1:
        engine = Engine(CompiledScenario.compile(scenario))
        for chunk in work:
            yield chunk, simulate_chunk(engine, chunk)
        return
    workers = min(workers, len(work), os.cpu_count() or 1) or 1
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(scenario.model_dump_json(),))
    try:
        yield from _in_order(work, lambda chunk: pool.submit(_simulate_in_worker, chunk), 2 * workers)
    except BaseException:  # stopped (a signal, an error, the consumer gone): free the workers now, not after
        _stop_workers_now(pool)  # their chunks
        raise
    pool.shutdown(wait=True)


WORKER_STOP_GRACE_S = 5.0  # how long a terminated worker may take to go before it is killed


def _stop_workers_now(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes at once, and let the caller go on even if the pool cannot follow.

    The processes are terminated, and killed if they outlive the grace. The pool's own thread then fails the
    work left; it is waited for only as long as the grace, since on Python up to 3.11 it can block for good
    on a pipe a killed worker was writing to (the command line ends such a process past its deadline).
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(WORKER_STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:  # what it still buffers was for the workers just stopped: do not wait to send it
        call_queue.cancel_join_thread()
    pool.shutdown(wait=False)
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(WORKER_STOP_GRACE_S)
