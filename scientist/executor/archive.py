"""A work folder as bytes and back: what a Ray task carries to its worker and returns.

Only regular files and folders travel. Links, devices and paths that would land outside the
folder are left out when unpacking, so code run on a worker cannot plant a link on the driver
that points at the driver's own files.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def pack(folder: Path) -> bytes:
    """Every regular file under ``folder``, as an uncompressed tar archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> list[str]:
    """Write the archive's files and folders into ``folder`` (replacing files of the same name);
    returns what was left out."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    skipped = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        for member in archive.getmembers():
            target = (root / member.name).resolve()
            if not (member.isfile() or member.isdir()) or not target.is_relative_to(root):
                skipped.append(member.name)
                continue
            archive.extract(member, root, filter="data")
    return skipped
