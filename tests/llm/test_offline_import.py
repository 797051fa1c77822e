"""Importing scientist and loading litellm must never touch the network."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
events = []
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        events.append((event, repr(args)[:200]))
sys.addaudithook(hook)
import scientist.cli
from scientist.llm.gateway import load_litellm
litellm = load_litellm()
litellm.model_cost.get("gpt-4o")
print("EVENTS", events)
"""


def test_import_makes_no_network_call():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "EVENTS []" in done.stdout, done.stdout
