"""What the failing line of a crashed run was working with.

After a run ends in an exception, it is run once more in the sandbox under a small harness
(``scientist/sandbox/failing_values.py``) that, when the script raises, prints the type, dtype and
shape of each value the failing statement reads. The model then sees
``y = ndarray int64 shape (450,); probs = ndarray float64 shape (450, 10)`` beside the traceback,
which is what a person would look at in a debugger, and the same for the call one or two frames up
that led there (the wrong argument is often passed there: ``targets`` where ``targets[batch]`` was
meant). The run the failure log records is the plain
``python experiment.py`` run; this second one only explains it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from scientist.errors import SandboxUnavailable
from scientist.sandbox import program
from scientist.sandbox.base import Limits, Sandbox

log = logging.getLogger(__name__)

MARK = "SCIENTIST_FAILING_VALUES "
MIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FailingValues:
    """The values one failing statement read, each described in a few words, and those of the calls
    in the script that led to it (``callers``, nearest first: function, line, values)."""

    line: int
    values: dict[str, str]
    callers: tuple[tuple[str, int, dict[str, str]], ...] = ()

    def describe(self) -> str:
        text = _listed(self.values)
        for function, line, values in self.callers:
            if values:
                text += f" | in {_where(function)}, line {line}, the call that led there: {_listed(values)}"
        return text


def _listed(values: dict[str, str]) -> str:
    return "; ".join(f"{name} = {value}" for name, value in values.items())


def _where(function: str) -> str:
    return "the main block" if function == "<module>" else function


def _parse(found: dict) -> FailingValues:
    callers = tuple((str(c["function"]), int(c["line"]), {str(k): str(v) for k, v in c["values"].items()})
                    for c in found.get("callers", []))
    return FailingValues(int(found["line"]), {str(k): str(v) for k, v in found["values"].items()}, callers)


def failing_values(sandbox: Sandbox, workdir: Path, args: list[str], limits: Limits,
                   first_wall_s: float) -> FailingValues | None:
    """Run ``python <args>`` again under the harness; the failing statement's values, or None when
    the rerun did not fail in the script or the harness could not run."""
    timeout = min(limits.timeout_s, max(MIN_TIMEOUT_S, 2 * first_wall_s + 10))
    try:
        result = sandbox.run(["python", "-c", program("failing_values.py"), *args], workdir,
                             limits.model_copy(update={"timeout_s": timeout}))
    except SandboxUnavailable as exc:
        log.warning("could not rerun the failed run to read its values: %s", exc.one_line())
        return None
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(MARK):
            try:
                return _parse(json.loads(line[len(MARK):]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                break
    log.info("the rerun of the failed run reported no values (%s)", result.one_line())
    return None
