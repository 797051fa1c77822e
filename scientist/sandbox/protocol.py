"""How the in-box harness programs (``scientist/sandbox/harness/``) report to the host: the mark that
starts each program's report line on stdout. Defined once: the host drivers import it, and
``sandbox.program`` puts this file's text in front of each harness program it sends into the box.
Standard library only, constants only: it runs inside the box too."""

LINES_RAN_MARK = "SCIENTIST_LINES_RAN "  # harness/lines_run.py: which lines ran, which updates changed
FAILING_VALUES_MARK = "SCIENTIST_FAILING_VALUES "  # harness/failing_values.py: what the failing line read
RESOLVED_NAMES_MARK = "SCIENTIST_RESOLVED_NAMES "  # harness/resolve_names.py: library names that do not exist
