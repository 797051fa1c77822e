"""Where sandboxed code runs: this machine's sandbox (``local``, the default) or Ray tasks (``ray``).

Both are a ``Sandbox``: the experiment loop, the plots and the pre-flight hand out "run this
command in this folder with these limits" and get an ``ExecResult`` and the folder's new files
back, whichever executor ran it. Model calls never leave the driver.
"""

from __future__ import annotations

from scientist.config import Settings
from scientist.sandbox.base import Sandbox
from scientist.sandbox.choose import open_sandbox


def open_executor(settings: Settings) -> Sandbox:
    """The sandbox the run's code goes to, as ``[executor]`` in the settings says."""
    if settings.executor.kind == "ray":
        from scientist.executor.ray_executor import RaySandbox

        return RaySandbox(settings.executor, backend=settings.sandbox)
    return open_sandbox(settings.sandbox)
