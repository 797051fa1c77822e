"""Run inside the sandbox by scientist.experiments.checks.names: resolve library names, print those that do not exist.

argv[1] is a JSON list of {"module", "attrs", "line", "kind"}; the last line printed is RESOLVED_NAMES_MARK and a JSON list
of {"type", "message", "line"}. It imports only the standard library and the modules it is asked for.
"""

import importlib
import json
import sys
import types


def resolve(module: str, attrs: list[str], kind: str) -> tuple[str, str] | None:
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        return type(exc).__name__, str(exc)
    except Exception as exc:  # the module itself raised while importing: report it as the run would
        return type(exc).__name__, f"importing {module!r} raised {type(exc).__name__}: {exc}"
    path = module
    for attr in attrs:
        if not isinstance(obj, types.ModuleType):
            return None  # past a module, attributes depend on values: only the run can tell
        if hasattr(obj, attr):
            obj = getattr(obj, attr)
        else:
            try:
                obj = importlib.import_module(f"{path}.{attr}")
            except ImportError:
                if kind == "from":
                    return "ImportError", f"cannot import name {attr!r} from {path!r}"
                return "AttributeError", f"module {path!r} has no attribute {attr!r}"
        path = f"{path}.{attr}"
    return None


def main() -> None:
    found = []
    for want in json.loads(sys.argv[1]):
        problem = resolve(want["module"], want["attrs"], want["kind"])
        if problem is not None:
            found.append({"type": problem[0], "message": problem[1], "line": want["line"]})
    sys.stdout.write("\n" + RESOLVED_NAMES_MARK + json.dumps(found) + "\n")  # noqa: F821 (protocol.py)


if __name__ == "__main__":
    main()
