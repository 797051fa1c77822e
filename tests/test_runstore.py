"""Run folders: layout, atomic manifest, ids that sort by time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scientist.errors import RunNotFound, UsageError
from scientist.runstore import RUN_SUBDIRS, RunStatus, RunStore, new_run_id


def test_run_ids_sort_by_time():
    early = new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = new_run_id(datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))
    assert early.startswith("20260102-030405-") and early < late


def test_create_makes_the_layout_and_manifest(tmp_path):
    store = RunStore(tmp_path / "runs")
    folder = store.create("templates/digits", "label smoothing", {"ideation": "local"}, {"auto": True})
    assert all((folder.path / sub).is_dir() for sub in RUN_SUBDIRS)
    manifest = folder.read_manifest()
    assert (manifest.template, manifest.status, manifest.run_id) == ("templates/digits", RunStatus.CREATED,
                                                                     folder.run_id)
    manifest.status = RunStatus.RUNNING
    folder.write_manifest(manifest)
    assert store.open(folder.run_id).read_manifest().status == RunStatus.RUNNING
    assert store.open(str(folder.path)).run_id == folder.run_id
    assert [f.run_id for f in store.list()] == [folder.run_id]
    assert [p.name for p in folder.path.iterdir() if p.name.endswith(".tmp")] == []


def test_unknown_run_and_damaged_manifest(tmp_path):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunNotFound):
        store.open("20990101-000000-abcdef")
    folder = store.create("t", None, {}, {})
    folder.manifest_path.write_text("{not json")
    with pytest.raises(UsageError, match="damaged"):
        folder.read_manifest()
