"""The installed distribution is this project under a name of its own, and says its version.

`accel` on PyPI is an unrelated project: `pip install accel` would install it. The project's
distribution is `accel-simulator`; the import name and the command stay `accel`.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

from conftest import REPO, run_accel

from accel.version import DISTRIBUTION, version


def test_the_installed_distribution_is_this_project() -> None:
    metadata = importlib.metadata.metadata(DISTRIBUTION)
    assert metadata["Name"] == DISTRIBUTION == "accel-simulator"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == DISTRIBUTION
    assert metadata["Version"] == pyproject["project"]["version"] == version()
    scripts = importlib.metadata.distribution(DISTRIBUTION).entry_points.select(
        group="console_scripts"
    )
    assert [(entry.name, entry.value) for entry in scripts] == [("accel", "accel.cli:run")]
    requires = {re.split(r"[<>=;\[ ]", line)[0] for line in metadata.get_all("Requires-Dist")}
    assert {"numpy", "pydantic", "pyyaml", "typer"} <= requires


def test_no_install_line_names_the_other_projects_distribution() -> None:
    """Every `pip install` in the README and in the code's hints installs this project: from
    the checkout (`-e .` with extras) or by the distribution's own name."""
    texts = [(REPO / "README.md").read_text(encoding="utf-8")] + [
        path.read_text(encoding="utf-8") for path in (REPO / "accel").rglob("*.py")
    ]
    targets = [
        target
        for text in texts
        for target in re.findall(r"pip install(?: -e)? +['\"]?([A-Za-z0-9_.\-]+)\[", text)
    ]
    assert targets, "the README installs extras"
    assert set(targets) <= {".", DISTRIBUTION}, set(targets)
    assert not re.search(r"pip install ['\"]?accel(\[|['\"\s])", "\n".join(texts))


def test_version_option_prints_the_distribution_and_version() -> None:
    result = run_accel("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(f"accel {version()} (distribution {DISTRIBUTION},")

