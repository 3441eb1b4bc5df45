"""stack.json and the secrets snapshot: private from the first byte, never seen half-written."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from paygate_local import files
from paygate_local.files import write_private


def test_a_new_file_is_private_even_under_a_permissive_umask(tmp_path):
    path = tmp_path / "stack.json"
    old = os.umask(0)
    try:
        write_private(path, '{"api_key": "pgk.x"}\n')
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8") == '{"api_key": "pgk.x"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["stack.json"]


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "stack.json"
    write_private(path, "old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_private(path, "new\n")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["stack.json"]


def test_a_reader_polling_the_file_sees_only_whole_versions(tmp_path):
    path = tmp_path / "stack.json"
    versions = {("x" * 200_000) + str(i) for i in range(30)}
    write_private(path, "start")
    seen: set[str] = set()
    done = threading.Event()

    def read_until_done() -> None:
        while not done.is_set():
            seen.add(path.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read_until_done)
    reader.start()
    for text in sorted(versions):
        write_private(path, text)
    done.set()
    reader.join()
    assert seen <= versions | {"start"}
