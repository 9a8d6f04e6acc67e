"""The deployment recipe, checked offline: the Dockerfile with hadolint, compose.yaml against the compose
specification's schema, and both against the settings the App reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.service import settings as settings_mod

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is a test dependency (pip install -e '.[test]')")
    return found


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run([tool("hadolint"), "--no-color", "Dockerfile"], cwd=REPO, capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_compose_yaml_is_a_valid_compose_file():
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_postgresql_the_web_service_and_two_workers_on_one_store():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "web", "worker"}
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"][:2] == ["challenge-bot", "worker"]
    urls = {services[name]["environment"]["CHALLENGE_BOT_DB"] for name in ("web", "worker")}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql://") and "@db:5432/" in next(iter(urls))
    assert services["web"]["environment"]["CHALLENGE_BOT_WORKERS"] == "0"
    known = set(settings_mod.ENV.values())
    for name in ("web", "worker"):
        assert set(services[name]["environment"]) <= known, "compose sets a variable the App does not read"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_image_runs_the_documented_web_command_and_installs_the_postgres_extra():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "'.[app,postgres]'" in dockerfile
    cmd = re.search(r'^CMD (\[.*?\])$', dockerfile.replace("\\\n", ""), re.M | re.S)
    assert cmd is not None
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert yaml.safe_load(cmd.group(1)) == compose["services"]["web"]["command"]


def test_every_setting_is_documented():
    readme, deploy = (REPO / "README.md").read_text(), (REPO / "docs" / "deploy.md").read_text()
    for variable in settings_mod.ENV.values():
        assert f"`{variable}`" in readme, f"README.md does not document {variable}"
        assert f"`{variable}`" in deploy, f"docs/deploy.md does not document {variable}"


@pytest.mark.skipif(os.environ.get("CI", "").lower() != "true" and not (REPO / ".ci" / "postgres.sh").exists(), reason="no .ci/postgres.sh")
def test_the_ci_script_finds_or_installs_postgresql_and_prints_its_bin_directory():
    if os.geteuid() != 0 and shutil.which("pg_ctl") is None and not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("no PostgreSQL here, and installing it needs root")
    result = subprocess.run(["bash", ".ci/postgres.sh"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    bindir = Path(result.stdout.strip())
    assert (bindir / "pg_ctl").exists() and (bindir / "initdb").exists()
