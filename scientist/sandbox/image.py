"""Build the docker experiment image locally from ``sandbox/rootfs`` (never pulled)."""

from __future__ import annotations

import io
import tarfile
from importlib import resources
from pathlib import Path
from typing import Any

from scientist import __version__

IMAGE_REPO = "scientist-sandbox"
IMAGE_TAG = __version__
MOUNT_POINTS = ("usr", "tmp", "proc", "dev", "sys", "work")
ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def rootfs_dir() -> Path:
    """``sandbox/rootfs``: inside an installed wheel, or in the source tree."""
    package = Path(str(resources.files("scientist")))
    for candidate in (package / "_sandbox" / "rootfs", package.parent / "sandbox" / "rootfs"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sandbox/rootfs is missing from this installation")


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def rootfs_tar() -> bytes:
    """The image's whole filesystem as a tar archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in MOUNT_POINTS:
            _add_dir(tar, name, 0o1777 if name == "tmp" else 0o755)
        _add_dir(tar, "etc")
        for entry in ROOT_LINKS:
            host = Path("/") / entry
            if host.is_symlink():
                info = tarfile.TarInfo(entry)
                info.type, info.linkname = tarfile.SYMTYPE, str(host.readlink())
                tar.addfile(info)
            elif host.is_dir():
                _add_dir(tar, entry)
        for path in sorted(rootfs_dir().rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(rootfs_dir())), recursive=False)
    return buf.getvalue()


def image_name() -> str:
    return f"{IMAGE_REPO}:{IMAGE_TAG}"


def build_image(client: Any) -> str:
    """Import the image into the engine behind ``client``; returns its name."""
    client.api.import_image_from_data(rootfs_tar(), repository=IMAGE_REPO, tag=IMAGE_TAG)
    return image_name()


def ensure_image(client: Any) -> str:
    """The image's name, building it first when the engine does not have it."""
    import docker

    try:
        client.images.get(image_name())
    except docker.errors.ImageNotFound:
        build_image(client)
    return image_name()
