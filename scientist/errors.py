"""The typed errors of scientist.

Control flow depends on the class, never on the message. Every error carries a short
``code`` (stable, for logs and ``--json``) and the process exit code the CLI uses:
2 for bad usage or input, 1 for work that failed and was reported.
"""

from __future__ import annotations


class ScientistError(Exception):
    """Base of every error that scientist raises on purpose."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message a user sees: one line, with the fix when there is one."""
        text = self.message.strip().splitlines()[0] if self.message.strip() else self.code
        return f"{text} ({self.hint})" if self.hint else text


class UsageError(ScientistError):
    """The user asked for something malformed or impossible."""

    code = "usage"
    exit_code = 2


class ConfigError(UsageError):
    """scientist.toml, an environment variable or a flag holds a bad value."""

    code = "config"


class PreflightFailed(UsageError):
    """A check before a run starts failed (template, sandbox, LaTeX, model): nothing was spent."""

    code = "preflight"


class RunNotFound(UsageError):
    """No run with that id or folder."""

    code = "run_not_found"


class ModelError(ScientistError):
    """Base of errors from the model layer."""

    code = "model"


class ModelUnavailable(ModelError):
    """The model cannot be reached or loaded (missing weights, bad key, server down)."""

    code = "model_unavailable"


class ModelNotUsable(ModelError):
    """The model string cannot work as configured (unknown provider, missing credentials): no retry can
    help, so it is refused before any work, with what to do."""

    code = "model_not_usable"
    exit_code = 2


class ModelFileCorrupt(ModelUnavailable):
    """The embedded model's assembled file does not match its checksum."""

    code = "model_file_corrupt"


class TransientModelError(ModelError):
    """A failure worth retrying: rate limit, timeout, 5xx, dropped connection."""

    code = "model_transient"


class LLMOutputInvalid(ModelError):
    """The model's replies never validated against the requested shape."""

    code = "llm_output_invalid"

    def __init__(self, message: str, *, attempts: int, last_error: str) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_error = last_error


class BudgetExceeded(ModelError):
    """The run's budget in USD or tokens is spent; the run stops cleanly."""

    code = "budget_exceeded"


class SandboxUnavailable(ScientistError):
    """No sandbox backend can run here, or its engine failed (infrastructure, not the code's fault)."""

    code = "sandbox_unavailable"
