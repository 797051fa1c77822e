"""Run inside the sandbox by scientist.lines_run: run a script and say which of some of its lines ran.

argv[1] is a comma-separated list of line numbers, argv[2] the script, the rest its arguments. The
script runs as __main__ with those arguments, its own frames traced line by line (other code is not
traced). When every listed line has run, or the script ends (even by an exception), the last line on
stdout is MARK followed by a JSON object {"ran": [line, ...]}. It imports only the standard library.
"""

import json
import os
import runpy
import sys

MARK = "SCIENTIST_LINES_RAN "


def report(ran: set[int]) -> None:
    sys.stdout.write("\n" + MARK + json.dumps({"ran": sorted(ran)}) + "\n")
    sys.stdout.flush()


def main() -> int:
    wanted = {int(n) for n in sys.argv[1].split(",") if n}
    script = os.path.abspath(sys.argv[2])
    sys.argv = sys.argv[2:]
    sys.path.insert(0, os.path.dirname(script))
    ran: set[int] = set()

    def in_script(frame, event, arg):
        if event == "line" and frame.f_lineno in wanted and frame.f_lineno not in ran:
            ran.add(frame.f_lineno)
            if ran == wanted:  # nothing left to learn: the rest of the run is not needed
                sys.settrace(None)
                report(ran)
                os._exit(0)
        return in_script

    holds: dict[object, bool] = {}  # code object: whether any listed line is in it (others run untraced)

    def calls(frame, event, arg):
        code = frame.f_code
        if code not in holds:
            holds[code] = os.path.abspath(code.co_filename) == script and any(
                line in wanted for _, _, line in code.co_lines())
        return in_script if holds[code] else None

    sys.settrace(calls)
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - the script's own ending; only the lines matter here
        sys.stderr.write(f"the script ended by {type(exc).__name__}: {exc}\n")
    finally:
        sys.settrace(None)
        report(ran)
    return 0


if __name__ == "__main__":
    sys.exit(main())
