"""The repository stands alone: nothing in it points at files or trackers a person who clones it cannot see."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What points outside a clone: design files and research folders that are not in the repository,
# a planning tracker's issue numbers, a developer's machine paths. The words are assembled from
# parts so that this file does not itself contain what it forbids.
_DOTS, _SHARED, _SEEDS, _RESEARCH, _DESIGN, _ISSUE = "..", "shared", "seed", "reference", "DESIGN", "ssue"
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape(f"{_DOTS}/{_SHARED}"),
            rf"\b{_SEEDS}s?/",
            rf"\b{_RESEARCH}/[\w-]+\.md",
            rf"\b{_DESIGN}(\.md| §)",
            rf"\b[Ii]{_ISSUE} #?\d+\b",
            "/" + "work/",
            r"/home/\w+/",
            r"/Users/\w+/",
            rf"\bthe {_SEEDS}\b",
            rf"\b{_SEEDS} §",
            rf"\b{_RESEARCH} §",
            r"\bref §",
        ]
    )
)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".txt", ".sh", ".html", ".css", ".c", ".cfg", ".ini", ""}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.split() if Path(name).suffix in TEXT_SUFFIXES]


def test_git_lists_the_files_checked():
    names = {path.relative_to(ROOT).as_posix() for path in tracked_text_files()}

    assert {"README.md", "Makefile", "docs/protocols.md", "layers/paygate/paygate/providers/beecloud.py"} <= names


@pytest.mark.parametrize(
    "text",
    [
        f"see {_DOTS}/{_SHARED}/{_DESIGN}.md",
        f"from {_SEEDS}s/beecloud-rest-api.md",
        f"(i{_ISSUE} 6)",
        f"{_RESEARCH} §1.7",
        "/" + "work/main/x",
        f"the {_SEEDS} says",
    ],
)
def test_the_rule_recognises_outside_references(text):
    assert OUTSIDE.search(text)


def test_no_tracked_file_points_outside_the_repository():
    found = []
    for path in tracked_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")

    assert found == []
