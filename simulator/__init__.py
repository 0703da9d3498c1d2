"""The province simulator: realistic, repeatable source traffic for training, the demo and benchmarks.

``generate`` / ``Simulation`` are the pure generator (config in, ``Record`` out);
``run_simulator`` sends it to Kafka at the right pace; ``write_records`` /
``read_records`` keep a run as a file that replays the same bytes.
"""

from ioc.errors import ConfigError
from simulator.config import (
    MALFORMED_KINDS,
    FaultConfig,
    MalformedKind,
    SimulatorConfig,
    Timeline,
    Volumes,
    plan,
)
from simulator.faults import REASON_OF_KIND
from simulator.generator import Simulation, generate
from simulator.records import Record, read_records, write_records
from simulator.runner import SimulatorStats, run_simulator, simulate_to
from simulator.sinks import FileSink, KafkaSink, Sink, SinkError

__all__ = [
    "MALFORMED_KINDS",
    "REASON_OF_KIND",
    "ConfigError",
    "FaultConfig",
    "FileSink",
    "KafkaSink",
    "MalformedKind",
    "Record",
    "Simulation",
    "SimulatorConfig",
    "SimulatorStats",
    "Sink",
    "SinkError",
    "Timeline",
    "Volumes",
    "generate",
    "plan",
    "read_records",
    "run_simulator",
    "simulate_to",
    "write_records",
]
