"""The building blocks of a source's simulator profile: pure, no I/O and no clock reads.

A source's profile (``sources/<name>/simulator.py``) makes realistic traffic for its topics
from these parts: the run's shared ``World``, ``Outlet``s and ``Entity`` life-cycles
(``world``), weighted and skewed draws (``draws``), local time and arrival rhythms
(``rhythm``), out-of-order delivery of the events it makes itself (``disorder``), and the
contract the simulator runs it by (``profile``). The simulator's engine (schedule, faults,
records, sinks, pacing) stays in ``simulator/``, an entry point.
"""

from ioc.simulation.disorder import Holdback
from ioc.simulation.draws import Picker, cumulative, lognormal
from ioc.simulation.profile import (
    EntityProfile,
    Handler,
    Profile,
    ProfileContext,
    ProfileFactory,
    Schedule,
)
from ioc.simulation.world import Entity, Item, Outlet, Payload, World

__all__ = [
    "Entity",
    "EntityProfile",
    "Handler",
    "Holdback",
    "Item",
    "Outlet",
    "Payload",
    "Picker",
    "Profile",
    "ProfileContext",
    "ProfileFactory",
    "Schedule",
    "World",
    "cumulative",
    "lognormal",
]
