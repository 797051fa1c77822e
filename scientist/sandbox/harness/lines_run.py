"""Run inside the sandbox by scientist.experiments.reruns.lines: run a script and say which of some of its lines ran,
and whether some of them ever changed the names they assign.

argv[1] is a comma-separated list of line numbers; argv[2] the lines to watch, as
``line=name,name;line=name`` (may be empty); argv[3] a JSON file of options, {"twins": ...,
"deadline_s": seconds} (may be empty: no twins, no deadline); argv[4] the script, the rest its
arguments. The script runs as __main__ with those arguments, its own frames traced line by line
(other code is not traced).
For each watched line, up to WATCHED of its runs are observed: whether a run gave a name a value
other than the one it had before, and whether the name got the same value every time (then that
value, when it is a plain number).
The twins map the name of a function the edit changed to {"line": its def line in the script,
"source": the baseline's text of it}. At its calls 1, 2, 4, 8, ... the baseline's version is called too,
in the script's globals, on copies of the same arguments and from the same random states, and the two
are compared: what they return and what they leave in their arguments. A call that returns None and
changes no argument (its effect is elsewhere: a file, a global) is not compared; nor is one slower than
TWIN_MAX_S, after which the function is left alone.
Once every listed line has run and every watched line has been observed enough, lines are no longer
traced; only the twins' calls and returns are. When every twin has differed from its baseline (or was
left alone) too, or the script ends (even by an exception), or the deadline passes, the last line
on stdout is MARK followed by a JSON object {"ran": [line, ...], "watched": [{"line", "name", "runs",
"compared", "changed", "same"}, ...], "twins": [{"name", "calls", "compared", "differed"}, ...],
"deadline": whether the deadline ended it}.
It imports only the standard library.
"""

import contextlib
import copy
import io
import json
import math
import numbers
import os
import random
import runpy
import signal
import sys
import time
import types

MARK = LINES_RAN_MARK  # noqa: F821 (defined by scientist/sandbox/protocol.py, sent in front of this file)
WATCHED = 50  # runs of a watched line observed before it is left alone
TWIN_MAX_S = 5.0  # a changed function whose call takes longer is not compared with its baseline
TOLERANCE = 1e-9  # relative: floats this close are the same value (summation order aside)
DEPTH = 8  # nesting of containers compared
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


def plain(value):
    """``value`` as it is, or, when automatic differentiation traces it (an autograd box, which the
    script's gradient computation passes through its functions), the plain value inside."""
    getval = getattr(sys.modules.get("autograd.tracer"), "getval", None)
    return value if getval is None else getval(value)


def alike(a, b, depth=0):
    """The same value: containers item by item, floats and float arrays within TOLERANCE (NaN alike),
    anything else by ``==``; a value that cannot be compared is not alike (never a false "same")."""
    a, b = plain(a), plain(b)
    if a is b:
        return True
    if depth > DEPTH:
        return False
    try:
        if isinstance(a, (list, tuple)) and type(a) is type(b):
            return len(a) == len(b) and all(alike(x, y, depth + 1) for x, y in zip(a, b, strict=True))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(alike(a[k], b[k], depth + 1) for k in a)
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=0.0) or (a != a and b != b)
        if hasattr(a, "shape") and hasattr(b, "shape") and hasattr(a, "dtype"):
            numpy = sys.modules.get("numpy")
            if a.shape != b.shape or numpy is None:
                return False
            if a.dtype.kind in "fc" and b.dtype.kind in "fc":
                return bool(numpy.allclose(a, b, rtol=TOLERANCE, atol=0.0, equal_nan=True))
            return bool(numpy.array_equal(a, b))
        equal = a == b
        return equal if isinstance(equal, bool) else False
    except Exception:  # noqa: BLE001 - values that cannot be compared are not alike
        return False


def is_random(value):
    return hasattr(value, "bit_generator") or isinstance(value, random.Random)


class RandomStates:
    """The states of every random source a function may draw from without being passed it: the
    ``random`` module, numpy's legacy global generator and the script's global numpy Generators."""

    def __init__(self, module_globals):
        self.module_globals = module_globals
        numpy = sys.modules.get("numpy")
        self.python = random.getstate()
        self.numpy = numpy.random.get_state() if numpy is not None else None
        self.generators = {name: copy.deepcopy(value.bit_generator.state) for name, value in module_globals.items()
                           if hasattr(value, "bit_generator")}

    def restore(self):
        random.setstate(self.python)
        numpy = sys.modules.get("numpy")
        if numpy is not None and self.numpy is not None:
            numpy.random.set_state(self.numpy)
        for name, state in self.generators.items():
            value = self.module_globals.get(name)
            if hasattr(value, "bit_generator"):
                value.bit_generator.state = state


class Twin:
    """A function the edit changed, and the baseline's version of it, compared at some of its calls."""

    def __init__(self, name, line, source):
        self.name, self.line, self.source = name, line, source
        self.function = None  # the baseline's version, made at the first call (it needs the script's globals)
        self.calls = self.compared = 0
        self.differed = self.left = False  # left: too slow, or the baseline's version could not be called

    def done(self):
        return self.differed or self.left

    def due(self):
        """Whether this call (counted) is one that is compared: calls 1, 2, 4, 8, ..."""
        self.calls += 1
        return not self.done() and self.calls & (self.calls - 1) == 0

    def make(self, module_globals):
        """The baseline's function, its defaults evaluated and its globals the script's, or None."""
        if self.function is None and not self.left:
            scratch = dict(module_globals)
            try:
                exec(compile(self.source, "<baseline>", "exec"), scratch)  # noqa: S102 - the baseline's own def
                made = scratch[self.name]
                self.function = types.FunctionType(made.__code__, module_globals, self.name, made.__defaults__)
                self.function.__kwdefaults__ = made.__kwdefaults__
            except Exception:  # noqa: BLE001 - a baseline def that cannot be made here is not compared
                self.left = True
        return self.function

    def report(self):
        return {"name": self.name, "calls": self.calls, "compared": self.compared, "differed": self.differed}


def load_options(path):
    """The twins and the deadline (seconds, or None) of the options file at ``path`` ("" for none)."""
    if not path:
        return {}, None
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
    twins = {name: Twin(name, int(item["line"]), item["source"]) for name, item in spec.get("twins", {}).items()}
    return twins, spec.get("deadline_s")


class Call:
    """One compared call of a twin: the arguments as they were, copied, and the random states then."""

    def __init__(self, twin, frame):
        self.twin = twin
        self.started = time.perf_counter()
        self.arguments = {name: plain(value) for name, value in frame.f_locals.items()}
        self.pristine = copy.deepcopy(self.arguments)  # raises for arguments that cannot be copied
        self.states = RandomStates(frame.f_globals)

    def settle(self, returned, module_globals):
        """Call the baseline's version like this one and note whether the two differ."""
        twin = self.twin
        if time.perf_counter() - self.started > TWIN_MAX_S:
            twin.left = True
            return
        touched = any(not alike(value, self.pristine[name]) for name, value in self.arguments.items())
        if returned is None and not touched:
            return  # its effect is elsewhere (a file, a global, the screen): nothing here to compare
        function = twin.make(module_globals)
        if function is None:
            return
        code = function.__code__
        if code.co_flags & 0x0C:  # *args or **kwargs: its arguments cannot be matched by name
            twin.left = True
            return
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        arguments = copy.deepcopy(self.pristine)
        if any(name not in arguments for name in names[:code.co_argcount - len(function.__defaults__ or ())]):
            twin.left = True
            return
        now = RandomStates(module_globals)
        self.states.restore()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                theirs = function(**{name: arguments[name] for name in names if name in arguments})
        except Exception:  # noqa: BLE001 - the baseline's version fails on these arguments: not comparable
            twin.left = True
            return
        finally:
            now.restore()
        twin.compared += 1
        # a random generator passed in is not compared: drawing from it is no computation of its own
        same = alike(returned, theirs) and all(alike(self.arguments[name], arguments[name])
                                               for name in names if name in arguments
                                               and not is_random(self.arguments[name]))
        twin.differed = twin.differed or not same


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


def report(ran, watches, twins, ended=False):
    sys.stdout.write("\n" + MARK + json.dumps({"ran": sorted(ran), "watched": [
        w.report() for line in sorted(watches) for w in watches[line]],
        "twins": [t.report() for t in twins.values()], "deadline": ended}) + "\n")
    sys.stdout.flush()


class Tracer:
    """Traces the script's frames that hold a listed line or are a twin's; ends the process once nothing
    is left to learn."""

    def __init__(self, script, wanted, watches, twins):
        self.script, self.wanted, self.watches, self.twins = script, wanted, watches, twins
        self.ran: set[int] = set()
        self.pending = {}  # frame: (the watched line it is running, {name: value before})
        self.comparing = {}  # frame: the Call of a twin it is running
        self.holds: dict[object, bool] = {}  # code object: whether any listed line is in it
        self.twin_of: dict[object, object] = {}  # code object: its Twin, or None
        self.all_lines_seen = False

    def finished(self):
        return self.lines_done() and all(t.done() for t in self.twins.values())

    def end(self, *_):
        """Report and end the process (also the handler of the deadline's alarm)."""
        sys.settrace(None)
        report(self.ran, self.watches, self.twins, ended=bool(_))
        os._exit(0)

    def resolve(self, frame):
        line, before = self.pending.pop(frame)
        values = frame.f_locals
        for w in self.watches[line]:
            w.observe(before[w.name], values.get(w.name, MISSING))

    def lines_done(self):
        """Every listed line has run and every watched line is observed enough (once true, it stays:
        cached, since it is asked at every call)."""
        if not self.all_lines_seen:
            self.all_lines_seen = self.ran == self.wanted and all(w.done() for ws in self.watches.values() for w in ws)
        return self.all_lines_seen

    def in_script(self, frame, event, arg):
        if event not in ("line", "return"):
            return self.in_script
        if frame in self.pending:
            self.resolve(frame)
        if event == "return" and frame in self.comparing:
            self.comparing.pop(frame).settle(arg, frame.f_globals)
            if self.finished():
                self.end()
        line = frame.f_lineno
        if event == "line" and line in self.wanted:
            self.ran.add(line)
            watched = self.watches.get(line, [])
            if not all(w.done() for w in watched):
                values = frame.f_locals
                self.pending[frame] = (line, {w.name: snapshot(values.get(w.name, MISSING)) for w in watched})
            elif self.finished():  # nothing left to learn: the rest of the run is not needed
                self.end()
        if event == "line" and frame not in self.pending and self.lines_done():
            frame.f_trace_lines = False  # only the twins' returns are left to see: lines are not traced
        return self.in_script

    def drop_slow(self):
        """Once the lines are done, a twin call running longer than TWIN_MAX_S is not waited for."""
        now = time.perf_counter()
        for running, call in list(self.comparing.items()):
            if now - call.started > TWIN_MAX_S:
                call.twin.left = True
                del self.comparing[running]
        if self.finished():
            self.end()

    def calls(self, frame, event, arg):
        if self.comparing and self.lines_done():
            self.drop_slow()
        code = frame.f_code
        if code not in self.holds:
            mine = os.path.abspath(code.co_filename) == self.script
            self.holds[code] = mine and any(line in self.wanted for _, _, line in code.co_lines())
            twin = self.twins.get(code.co_name) if mine else None
            self.twin_of[code] = twin if twin is not None and twin.line == code.co_firstlineno else None
        twin = self.twin_of[code]
        if twin is not None and twin.due():
            try:
                self.comparing[frame] = Call(twin, frame)
            except Exception:  # noqa: BLE001 - arguments that cannot be copied: this function is not compared
                twin.left = True
        if self.holds[code] and not self.lines_done():
            return self.in_script
        if frame in self.comparing:
            frame.f_trace_lines = False  # only its return is needed
            return self.in_script
        return None


def main() -> int:
    wanted = {int(n) for n in sys.argv[1].split(",") if n}
    watches = parse_watches(sys.argv[2])
    twins, deadline = load_options(sys.argv[3])
    script = os.path.abspath(sys.argv[4])
    sys.argv = sys.argv[4:]
    sys.path.insert(0, os.path.dirname(script))
    tracer = Tracer(script, wanted, watches, twins)
    if deadline:
        signal.signal(signal.SIGALRM, tracer.end)
        signal.setitimer(signal.ITIMER_REAL, float(deadline))
    sys.settrace(tracer.calls)
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - the script's own ending; only the lines matter here
        sys.stderr.write(f"the script ended by {type(exc).__name__}: {exc}\n")
    finally:
        sys.settrace(None)
        report(tracer.ran, watches, twins)
    return 0


if __name__ == "__main__":
    sys.exit(main())
