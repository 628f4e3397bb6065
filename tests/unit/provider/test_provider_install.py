"""bcsync as an installed provider: Airflow's CLI lists it in the venv (`make` installs it editable), and a
wheel of the project carries the entry point, every module and the migrations' files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
PACKAGE = ROOT / "plugins" / "bcsync"
ENTRY_POINT = "[apache_airflow_provider]\nprovider_info = bcsync.provider:get_provider_info"
TEST_TOOLS = {"pytest", "pytest-timeout", "ruff"}


def pins(path: Path) -> set[str]:
    """`name==version` lines of a requirements file, lower-cased."""
    lines = (line.split("#")[0].strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if "==" in line}


def test_airflow_lists_bcsync_among_its_providers(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)  # found as an installed distribution, not through the checkout's path

    listed = subprocess.run(
        [str(VENV_BIN / "airflow"), "providers", "list", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )

    assert listed.returncode == 0, listed.stderr[-2000:]
    providers = {p["package_name"]: p for p in json.loads(listed.stdout)}
    assert "bcsync" in providers, "bcsync is not installed in the venv: run `make` (or `pip install -e .`)"
    assert providers["bcsync"]["version"] == "0.1.0"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """A wheel built from a copy of the project, so the build leaves nothing behind in the checkout."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(
        ROOT / "plugins", source / "plugins", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [str(VENV_BIN / "uv"), "build", "--wheel", "--out-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("bcsync-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (member,) = [m for m in wheel.namelist() if m.endswith(f".dist-info/{name}")]
    return wheel.read(member).decode()


def test_the_wheel_declares_the_provider_entry_point(wheel: zipfile.ZipFile) -> None:
    assert ENTRY_POINT in dist_info(wheel, "entry_points.txt")


def test_the_wheel_holds_every_module_and_the_migrations_files(wheel: zipfile.ZipFile) -> None:
    on_disk = {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }

    assert "bcsync/store/migrations/script.py.mako" in on_disk
    assert any(name.startswith("bcsync/store/migrations/versions/") for name in on_disk)
    assert on_disk <= set(wheel.namelist())
    assert not [name for name in wheel.namelist() if name.startswith(("tests/", "include/", "sandbox/"))]


def test_the_wheel_requires_the_runtime_pins_of_requirements_txt(wheel: zipfile.ZipFile) -> None:
    required = {
        line.removeprefix("Requires-Dist:").strip().lower().replace(" ", "")
        for line in dist_info(wheel, "METADATA").splitlines()
        if line.startswith("Requires-Dist:")
    }
    runtime = {pin for pin in pins(ROOT / "requirements.txt") if pin.split("==")[0] not in TEST_TOOLS}

    assert runtime <= required
    assert required - runtime <= pins(ROOT / "requirements.lock"), "extra requirements must match the lock"
