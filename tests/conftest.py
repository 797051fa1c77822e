"""Shared fixtures. No test reaches the network: sockets to anything but loopback fail."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from scientist.config import Settings, load_settings
from scientist.llm.gateway import Gateway
from scientist.llm.ledger import Budget, Ledger
from scientist.llm.scripted.server import FakeOpenAI
from scientist.sandbox.probe import bwrap_status

_real_connect = socket.socket.connect


def _own_addresses() -> set[str]:
    """This machine's own addresses (a local Ray cluster advertises one of them): not the network."""
    found = set()
    try:
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        # the address of the default route, as Ray finds its node address (a UDP connect sends nothing)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            found.add(probe.getsockname()[0])
    except OSError:
        pass
    return found


OWN_ADDRESSES = _own_addresses()


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        if not (host.startswith("127.") or host in ("::1", "localhost") or host in OWN_ADDRESSES):
            raise OSError(f"tests may not reach the network (tried {address!r})")
    _real_connect(self, address)


# The end-to-end run is the longest file by far (the embedded model writes a whole paper); collected
# first, the two xdist workers (``--dist loadfile`` hands out files in collection order) start it at once
# and share the rest, instead of one worker beginning it when everything else is done.
LONGEST_FIRST = ("test_end_to_end.py",)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)  # stable: the rest keep their order


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``needs_bwrap`` fails, not skips, when the bubblewrap sandbox cannot run here: the
    experiment loop's tests must not go green by not running."""
    if item.get_closest_marker("needs_bwrap") is not None:
        status = bwrap_status()
        if not status.ok:
            pytest.fail(f"the bubblewrap sandbox these tests need is unavailable: {status.reason}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SCIENTIST_MODEL", "SCIENTIST_LOCAL_MODEL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def fake_settings(fake: FakeOpenAI, **overrides: object) -> Settings:
    """Settings that send every role to the scripted fake server."""
    base: dict[str, object] = {"model": "openai/fake-model", "api_base": fake.api_base,
                               "retry_base_delay_s": 0.0, "fidelity_check": False}
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture
def make_gateway(tmp_path: Path, fake_llm: FakeOpenAI):
    """Build a real gateway pointed at the fake server, with its ledger in tmp_path."""

    def build(budget: Budget | None = None, **overrides: object) -> tuple[Gateway, Ledger]:
        ledger = Ledger(tmp_path / "llm_calls.jsonl", budget)
        return Gateway(fake_settings(fake_llm, **overrides), ledger), ledger

    return build
