"""The built distributions hold what an installed faroe-flask needs, and its licences.

Builds the sdist and, from it, the wheel with ``python -m build --no-isolation`` (the test extra
installs ``build`` and a setuptools that reads SPDX licence strings), so it works offline.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import faroe_flask

pytest.importorskip("build")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "faroe_flask"


def _package_files(folder: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


def test_the_wheel_holds_templates_migrations_data_and_licences(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _package_files("templates") | _package_files("migrations") | _package_files("data")
    assert any(name.startswith("faroe_flask/templates/faroe/email/") for name in expected)
    assert "faroe_flask/migrations/versions/faroe_0001_create_tables.py" in expected
    assert {"faroe_flask/data/common-passwords.txt", "faroe_flask/data/common-passwords.LICENSE"} <= expected
    assert expected - names == set()
    assert "faroe_flask/py.typed" in names
    info = f"faroe_flask-{faroe_flask.__version__}.dist-info"
    assert {f"{info}/licenses/LICENSE", f"{info}/licenses/faroe_flask/data/common-passwords.LICENSE"} <= names
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode("utf-8")
    assert f"\nVersion: {faroe_flask.__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "Classifier: Framework :: Flask" in metadata


def test_the_sdist_holds_the_licences_docs_and_changelog(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    top = f"faroe_flask-{faroe_flask.__version__}"
    names = set(tarfile.open(sdist).getnames())
    for path in ["LICENSE", "CHANGELOG.md", "docs/actions.md", "faroe_flask/data/common-passwords.LICENSE",
                 "faroe_flask/data/common-passwords.txt", "pyproject.toml"]:
        assert f"{top}/{path}" in names, path


def test_the_licence_files_say_what_they_must() -> None:
    assert "Copyright (c) 2026 the faroe-flask authors" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    notice = (PACKAGE / "data" / "common-passwords.LICENSE").read_text(encoding="utf-8")
    assert "Copyright (c) 2016 Daniel Wolf" in notice and "MIT License" in notice


def test_the_changelog_has_this_version_and_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## Unreleased" in changelog
    assert f"## {faroe_flask.__version__} " in changelog
