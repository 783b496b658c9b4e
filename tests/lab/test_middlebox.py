"""The middlebox never routes traffic off the machine."""

from censorscope.inputs.scenario import load_scenario
from censorscope.lab.clock import Clock
from censorscope.lab.middlebox import Middlebox, Ports
from censorscope.lab.world import FARM, TARPIT, World
from censorscope.rules.policy import Policy
from tests.conftest import TEST_SCENARIOS


def box() -> tuple[Middlebox, World]:
    world = World.build(load_scenario(TEST_SCENARIOS / "actions.toml"))
    return Middlebox(1, None, Policy([]), world, Clock(), Ports(1, 2, 3, 4, 5)), world


def test_routes_stay_on_loopback() -> None:
    mb, world = box()
    for ip in ("8.8.8.8", "10.10.34.35", "192.168.1.1", "1.1.1.1"):
        assert mb.route(ip, 443) is None
    assert mb.route(world.addresses["plain.test"][0], 443) == (FARM, 1)
    assert mb.route(world.addresses["plain.test"][0], 80) == (FARM, 2)
    assert mb.route(world.addresses["tarpit.test"][0], 443) == (TARPIT, 3)
    refused = world.addresses["refused-everywhere.test"][0]
    assert mb.route(refused, 443) == (refused, 1)  # nothing listens there: a real refusal
