"""Run inside the sandbox by scientist.experiments.reruns.lines: run a script and say which of some of its lines ran,
and whether some of them ever changed the names they assign.

argv[1] is a comma-separated list of line numbers; argv[2] the lines to watch, as
``line=name,name;line=name`` (may be empty); argv[3] the script, the rest its arguments. The script
runs as __main__ with those arguments, its own frames traced line by line (other code is not traced).
For each watched line, up to WATCHED of its runs are observed: whether a run gave a name a value
other than the one it had before, and whether the name got the same value every time (then that
value, when it is a plain number). When every listed line has run and every watched line has been
observed enough, or the script ends (even by an exception), the last line on stdout is MARK followed
by a JSON object {"ran": [line, ...], "watched": [{"line", "name", "runs", "compared", "changed",
"same"}, ...]}. It imports only the standard library.
"""

import copy
import json
import numbers
import os
import runpy
import sys

MARK = LINES_RAN_MARK  # noqa: F821 (defined by scientist/sandbox/protocol.py, sent in front of this file)
WATCHED = 50  # runs of a watched line observed before it is left alone
MISSING = object()


def same(a, b):
    """Equal values, arrays compared element by element (numpy is not imported here)."""
    if a is MISSING or b is MISSING:
        return a is b
    try:
        equal = a == b
        if isinstance(equal, bool):
            return equal
        return getattr(a, "shape", None) == getattr(b, "shape", None) and bool(equal.all())
    except Exception:  # noqa: BLE001 - a value that cannot be compared counts as changed
        return False


def number(value):
    """A plain number's text, or None for anything else."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return repr(float(value)) if isinstance(value, numbers.Real) else repr(value)
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return number(value.item())
    return None


class Watch:
    """What the runs of one watched line did to one name."""

    def __init__(self, line, name):
        self.line, self.name = line, name
        self.runs = self.compared = 0
        self.changed = False
        self.first = MISSING
        self.constant = True

    def observe(self, before, after):
        self.runs += 1
        if before is not MISSING:
            self.compared += 1
            self.changed = self.changed or not same(before, after)
        if self.first is MISSING:
            self.first = after
        elif self.constant and not same(self.first, after):
            self.constant = False

    def done(self):
        return self.changed or self.runs >= WATCHED

    def report(self):
        return {"line": self.line, "name": self.name, "runs": self.runs, "compared": self.compared,
                "changed": self.changed, "same": number(self.first) if self.constant and self.runs else None}


def snapshot(value):
    try:
        return copy.copy(value)
    except Exception:  # noqa: BLE001 - an object that cannot be copied is compared as it is
        return value


def parse_watches(spec):
    watches = {}
    for item in spec.split(";"):
        if "=" in item:
            line, names = item.split("=", 1)
            watches[int(line)] = [Watch(int(line), name) for name in names.split(",") if name]
    return watches


def report(ran, watches):
    sys.stdout.write("\n" + MARK + json.dumps({"ran": sorted(ran), "watched": [
        w.report() for line in sorted(watches) for w in watches[line]]}) + "\n")
    sys.stdout.flush()


class Tracer:
    """Traces the script's frames that hold a listed line; ends the process once nothing is left to learn."""

    def __init__(self, script, wanted, watches):
        self.script, self.wanted, self.watches = script, wanted, watches
        self.ran: set[int] = set()
        self.pending = {}  # frame: (the watched line it is running, {name: value before})
        self.holds: dict[object, bool] = {}  # code object: whether any listed line is in it

    def finished(self):
        return self.ran == self.wanted and all(w.done() for ws in self.watches.values() for w in ws)

    def resolve(self, frame):
        line, before = self.pending.pop(frame)
        values = frame.f_locals
        for w in self.watches[line]:
            w.observe(before[w.name], values.get(w.name, MISSING))

    def in_script(self, frame, event, arg):
        if event not in ("line", "return"):
            return self.in_script
        if frame in self.pending:
            self.resolve(frame)
        line = frame.f_lineno
        if event == "line" and line in self.wanted:
            self.ran.add(line)
            watched = self.watches.get(line, [])
            if not all(w.done() for w in watched):
                values = frame.f_locals
                self.pending[frame] = (line, {w.name: snapshot(values.get(w.name, MISSING)) for w in watched})
            elif self.finished():  # nothing left to learn: the rest of the run is not needed
                sys.settrace(None)
                report(self.ran, self.watches)
                os._exit(0)
        return self.in_script

    def calls(self, frame, event, arg):
        code = frame.f_code
        if code not in self.holds:
            self.holds[code] = os.path.abspath(code.co_filename) == self.script and any(
                line in self.wanted for _, _, line in code.co_lines())
        return self.in_script if self.holds[code] else None


def main() -> int:
    wanted = {int(n) for n in sys.argv[1].split(",") if n}
    watches = parse_watches(sys.argv[2])
    script = os.path.abspath(sys.argv[3])
    sys.argv = sys.argv[3:]
    sys.path.insert(0, os.path.dirname(script))
    tracer = Tracer(script, wanted, watches)
    sys.settrace(tracer.calls)
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - the script's own ending; only the lines matter here
        sys.stderr.write(f"the script ended by {type(exc).__name__}: {exc}\n")
    finally:
        sys.settrace(None)
        report(tracer.ran, watches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
