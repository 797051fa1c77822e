"""``scientist doctor``: what this machine offers and lacks, each with its fix."""

from __future__ import annotations

import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, Field

from scientist.config import LOCAL_MODEL, Settings
from scientist.errors import ModelError
from scientist.llm.gateway import Gateway, load_litellm
from scientist.llm.ledger import Ledger
from scientist.sandbox.probe import BackendStatus, bwrap_status, cgroup_status, docker_status, process_status

LATEX_TOOLS = ("pdflatex", "latexmk", "bibtex")
LATEX_FIX = "apt-get install latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended"
LITERATURE_HOSTS = {"arxiv": ("export.arxiv.org", 443), "openalex": ("api.openalex.org", 443)}


class ModelCheck(BaseModel):
    """The configured model: found, and (with ``--check-model``) answering."""

    ok: bool
    model: str
    detail: str
    path: str | None = None
    checked: bool = False
    load_s: float | None = None
    latency_s: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_per_s: float | None = None
    fix: str | None = None


class ToolCheck(BaseModel):
    """A program on PATH."""

    ok: bool
    path: str | None


class LatexCheck(BaseModel):
    """The LaTeX toolchain the paper needs."""

    ok: bool
    tools: dict[str, ToolCheck]
    fix: str | None = None


class SandboxCheck(BaseModel):
    """Sandbox backends and limits."""

    backends: dict[str, BackendStatus]
    cgroup: BackendStatus
    default: str | None


class NetworkCheck(BaseModel):
    """Whether each literature source's host is reachable."""

    sources: dict[str, BackendStatus]
    online: bool


class ClusterCheck(BaseModel):
    """The Ray cluster, when ``[executor] kind = "ray"``: its nodes and a sandbox check run on each."""

    address: str
    ok: bool
    detail: str = ""
    nodes: list[dict[str, object]] = Field(default_factory=list)


class DoctorReport(BaseModel):
    """Everything ``scientist doctor`` found."""

    model: ModelCheck
    latex: LatexCheck
    sandbox: SandboxCheck
    network: NetworkCheck
    cluster: ClusterCheck | None = None
    problems: list[str] = Field(default_factory=list)
    config_error: str | None = None  # the configuration did not load; the checks ran with the defaults


class Answer(BaseModel):
    """The tiny structured answer asked of the model by ``--check-model``."""

    capital: str
    population_millions: float


def check_model(settings: Settings, *, live: bool) -> ModelCheck:
    """Find the model; with ``live``, make one schema-constrained request and time it.

    ``tokens_per_s`` is prompt plus completion tokens over the request's wall time
    (loading the local model is timed apart, as ``load_s``).
    """
    model = settings.model
    gateway = Gateway(settings, Ledger(None))
    try:
        path = str(gateway.local_model_path()) if model == LOCAL_MODEL else None
    except ModelError as exc:
        return ModelCheck(ok=False, model=model, detail=exc.message, fix=exc.hint)
    if path is None and not live:
        # a remote model is never reported usable unverified: one 1-token request proves it answers
        try:
            latency = gateway.ping("review")
        except ModelError as exc:
            return ModelCheck(ok=False, model=model, checked=True, detail=exc.one_line(),
                              fix="check the model string and its API key (or SCIENTIST_API_BASE)")
        return ModelCheck(ok=True, model=model, checked=True, latency_s=round(latency, 2),
                          detail="answered a 1-token request")
    if not live:
        return ModelCheck(ok=True, model=model, path=path, detail="embedded model file verified")
    try:
        load_litellm()
        loaded = time.perf_counter()
        gateway.route("review")  # starts the local server, so its load time is not counted below
        load_s = time.perf_counter() - loaded
        started = time.perf_counter()
        gateway.structured([{"role": "user", "content": "What is the capital of France and its population?"}],
                           Answer, role="review", stage="doctor", max_tokens=64)
    except ModelError as exc:
        return ModelCheck(ok=False, model=model, path=path, checked=True, detail=exc.one_line(),
                          fix="check the model string, its API key, or SCIENTIST_LOCAL_MODEL")
    latency = time.perf_counter() - started
    ledger = gateway.ledger
    return ModelCheck(ok=True, model=model, path=path, checked=True, latency_s=round(latency, 2),
                      load_s=round(load_s, 2), detail="answered a schema-constrained request",
                      tokens_in=ledger.tokens_in, tokens_out=ledger.tokens_out,
                      tokens_per_s=round(ledger.tokens / max(latency, 1e-6), 1))


def check_latex() -> LatexCheck:
    """pdflatex, latexmk and bibtex on PATH."""
    tools = {name: ToolCheck(ok=(p := shutil.which(name)) is not None, path=p) for name in LATEX_TOOLS}
    ok = all(t.ok for t in tools.values())
    return LatexCheck(ok=ok, tools=tools, fix=None if ok else LATEX_FIX)


def check_sandbox() -> SandboxCheck:
    """Which backends work; the default is the first that does, safest first."""
    backends = {"docker": docker_status(), "bwrap": bwrap_status(), "process": process_status()}
    default = next((name for name in ("docker", "bwrap") if backends[name].ok), None)
    return SandboxCheck(backends=backends, cgroup=cgroup_status(), default=default)


def _reach(host: str, port: int, timeout_s: float) -> BackendStatus:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return BackendStatus(ok=True, reason=f"{host}:{port} reachable")
    except OSError as exc:
        return BackendStatus(ok=False, reason=f"{host}:{port} unreachable ({exc.__class__.__name__}: {exc})")


def check_network(*, offline: bool, timeout_s: float = 3.0) -> NetworkCheck:
    """Open a TCP connection to each literature source, in parallel, with a short timeout."""
    if offline:
        skipped = BackendStatus(ok=False, reason="not checked: offline mode (SCIENTIST_OFFLINE)")
        return NetworkCheck(sources=dict.fromkeys(LITERATURE_HOSTS, skipped), online=False)
    with ThreadPoolExecutor(len(LITERATURE_HOSTS)) as pool:
        futures = {name: pool.submit(_reach, host, port, timeout_s)
                   for name, (host, port) in LITERATURE_HOSTS.items()}
        sources = {name: f.result() for name, f in futures.items()}
    return NetworkCheck(sources=sources, online=any(s.ok for s in sources.values()))


def run_doctor(settings: Settings, *, check_model_live: bool, config_error: str | None = None) -> DoctorReport:
    """All checks, with a list of the problems found."""
    report = DoctorReport(model=check_model(settings, live=check_model_live), latex=check_latex(),
                          sandbox=check_sandbox(), network=check_network(offline=settings.offline),
                          config_error=config_error)
    if config_error:
        report.problems.append(f"config: {config_error}")
    if not report.model.ok:
        report.problems.append(f"model: {report.model.detail}")
    if not report.latex.ok:
        report.problems.append(f"latex: missing {', '.join(k for k, v in report.latex.tools.items() if not v.ok)}")
    if report.sandbox.default is None:
        report.problems.append("sandbox: neither docker nor bwrap works; generated code cannot run safely")
    if not report.network.online:
        report.problems.append("network: literature sources unreachable; novelty checks use the local index")
    if settings.executor.kind == "ray":
        report.cluster = check_cluster(settings)
        if not report.cluster.ok:
            report.problems.append(f"cluster: {report.cluster.detail}")
    return report


def check_cluster(settings: Settings) -> ClusterCheck:
    """Connect to the Ray cluster, list its nodes and run the sandbox check on each live one."""
    from scientist.errors import ScientistError
    from scientist.executor.ray_executor import cluster_report

    address = settings.executor.address
    try:
        nodes = cluster_report(settings.executor, settings.sandbox)
    except ScientistError as exc:
        return ClusterCheck(address=address, ok=False, detail=exc.one_line())
    live = [n for n in nodes if n.alive]
    slots = sum(n.sandbox_slots for n in live)
    failing = [n.host for n in live if not n.backend_ok]
    detail = (f"{len(live)} live node(s), {sum(n.cpus for n in live):g} CPUs, {slots:g} sandbox slots"
              + (f"; the sandbox check failed on {', '.join(failing)}" if failing else "")
              + ("; no node offers sandbox slots (start nodes with --resources '{\"sandbox\": N}')" if not slots else ""))
    return ClusterCheck(address=address, ok=bool(live) and slots > 0 and not failing, detail=detail,
                        nodes=[n.model_dump() for n in nodes])
