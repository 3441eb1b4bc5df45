"""Ship .pyc with the build: Lambda's code directory is read-only and `sam build` ships none.

Compiled with `unchecked-hash` invalidation: the zip SAM uploads keeps 2-second DOS timestamps,
so timestamp-checked .pyc would look stale on Lambda and be recompiled in memory at every cold
start; unchecked .pyc are used as they are. Run with the same Python minor version as the
runtime (3.13): `make build` does, after `sam build`.
"""

from __future__ import annotations

import compileall
import py_compile
import sys
from pathlib import Path


def compile_tree(root: Path) -> bool:
    return compileall.compile_dir(
        str(root),
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 13):
        print(f"compile_build: needs Python 3.13 (the Lambda runtime), not {sys.version.split()[0]}", file=sys.stderr)
        return 2
    root = Path(argv[0] if argv else ".aws-sam/build")
    if not root.is_dir():
        print(f"compile_build: {root} does not exist; run sam build first", file=sys.stderr)
        return 2
    return 0 if compile_tree(root) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
