"""Docs that cannot rot: every setting, command and API route is documented."""

import re
from pathlib import Path

from referwell.site.api import api

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_every_environment_setting_is_documented():
    settings_py = "".join(
        (ROOT / "config" / name).read_text() for name in ("settings.py", "settings_production.py")
    )
    names = set(re.findall(r'(?:os\.environ\.get|env_bool|env_list)\("([A-Z_]+)"', settings_py))
    assert len(names) > 10
    documented = (DOCS / "configuration.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def test_every_referwell_command_is_documented():
    # Each app keeps its own commands (referwell/<app>/management/commands/).
    commands = (ROOT / "referwell").glob("*/management/commands/*.py")
    names = {p.stem.replace("_", "-") for p in commands if p.stem != "__init__"}
    assert {"serve", "demo", "create-practice", "token"} <= names
    documented = (DOCS / "commands.md").read_text()
    missing = sorted(n for n in names if f"## `referwell {n}" not in documented)
    assert not missing, f"document these commands in docs/commands.md: {missing}"


def test_every_api_route_is_documented():
    documented = (DOCS / "api.md").read_text()
    missing = []
    for path, methods in api.get_openapi_schema()["paths"].items():
        for method in methods:
            if f"| {method.upper()} | `{path}` |" not in documented:
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"document these routes in docs/api.md: {missing}"


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
