"""The repository stands alone: nothing in it points at files or trackers a person who clones it cannot see."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A working note's vocabulary: design files and research folders outside the repo, a planning
# tracker's issue numbers, a developer machine's paths.
OUTSIDE = re.compile(
    r"\.\./shared|\bseeds?/|\breference/[\w-]+\.md|\bDESIGN(\.md| §)|\b[Ii]ssue #?\d+\b|/work/|/home/\w+/|/Users/\w+/"
    r"|\bthe seed\b|\bseed §|\breference §|\bref §"
)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".txt", ".sh", ".html", ".css", ".c", ".cfg", ".ini", ""}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.split() if Path(name).suffix in TEXT_SUFFIXES]


def test_git_lists_the_files_checked():
    names = {path.relative_to(ROOT).as_posix() for path in tracked_text_files()}

    assert {"README.md", "Makefile", "docs/protocols.md", "layers/paygate/paygate/providers/beecloud.py"} <= names


@pytest.mark.parametrize("text", ["see ../shared/DESIGN.md", "from seeds/beecloud-rest-api.md", "(issue 6)",
                                  "reference §1.7", "/work/main/x", "the seed says"])  # fmt: skip
def test_the_rule_recognises_outside_references(text):
    assert OUTSIDE.search(text)


def test_no_tracked_file_points_outside_the_repository():
    found = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")

    assert found == []
