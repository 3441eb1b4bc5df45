"""The shared layer as it ships: its pinned requirements are complete and consistent, and every
module of the layer imports with nothing but the layer and the standard library on the path.

The layer is assembled the way `sam build` assembles it (the requirements and everything they
require, recursively), from the distributions this venv installed from the same file, so the
test needs no network. Only the standard library is taken from outside the layer: the Lambda
runtime's own boto3 is never needed, because the layer ships its own matched boto3 and botocore.
"""

from __future__ import annotations

import importlib.metadata as metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = ROOT / "layers" / "paygate" / "requirements.txt"
LAYER_CODE = ROOT / "layers" / "paygate"


def pinned() -> dict[str, str]:
    """name -> version of every requirement line (each must be pinned with ==)."""
    pins = {}
    for line in LAYER_REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{line}: the layer's requirements are pinned"
            pins[requirement.name.lower()] = specifier.version
    return pins


def closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """The distributions `names` need, recursively, as installed here (markers for Lambda's Linux)."""
    environment = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux", "extra": ""}
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in found:
            continue
        found[name] = distribution = metadata.distribution(name)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    return found


def test_the_venv_runs_exactly_what_the_layer_pins():
    for name, version in pinned().items():
        assert metadata.version(name) == version, name


def test_botocore_ships_only_with_the_boto3_it_was_released_with():
    pins = pinned()
    shipped = closure(list(pins))

    assert "botocore" in shipped  # aws-xray-sdk needs it
    assert {"boto3", "botocore"} <= set(pins)
    (wanted,) = [
        requirement
        for requirement in map(Requirement, shipped["boto3"].requires or [])
        if requirement.name == "botocore" and requirement.marker is None  # not the `crt` extra's
    ]
    assert wanted.specifier.contains(pins["botocore"])


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python/` of the layer: every file of every distribution in the closure, as installed."""
    target = tmp_path_factory.mktemp("layer") / "python"
    for distribution in closure(list(pinned())).values():
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file)))
            if source.is_file() and ".." not in file.parts and "__pycache__" not in file.parts:
                destination = target / file
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
    return target


def layer_modules() -> list[str]:
    package = LAYER_CODE / "paygate"
    return sorted(
        ".".join(path.relative_to(LAYER_CODE).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
    )


def test_every_layer_module_imports_from_the_built_layer_alone(built_layer: Path):
    """No module needs a package the layer does not ship (a dev-only dependency, say)."""
    modules = [m for m in layer_modules() if m != "paygate.tracing"] + ["paygate.tracing"]
    probe = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(built_layer)!r}, {str(LAYER_CODE)!r}]\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import aws_xray_sdk.core, boto3, botocore\n"
        "assert boto3.__file__.startswith(sys.path[0]) and botocore.__file__.startswith(sys.path[0])\n"
        "print(len(sys.modules))\n"
    )

    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr[-2000:]
