"""`challenge-bot doctor`, and startup errors that name the setting and the path, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.service import settings as settings_mod
from fakes import base_files
from test_actions_e2e import TOKEN
from test_app_e2e import REPO_NAME

APP_VARS = ("GITHUB_WEBHOOK_SECRET", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH", "CHALLENGE_BOT_DB", "GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL")


@pytest.fixture
def doctor(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    for name in APP_VARS:
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str, **env: str) -> tuple[int, list[tuple[str, str, str]]]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(["doctor", *argv])
        out = capsys.readouterr().out.splitlines()
        rows = [(line[:9].strip(), line[9:23].strip(), line[23:].strip()) for line in out[:-1]]
        return code, rows + [("", "", out[-1])]

    return run


def test_a_contributors_checkout_needs_only_the_config_and_template(doctor):
    code, rows = doctor()
    assert code == 0
    assert rows == [
        ("ok", "config", ".github/challenge-bot.yml is valid: 5 sections, 3 models, 17 tags."),
        ("ok", "template", "templates/case-study.md found and read"),
        ("skipped", "store", "no App settings in the environment (GITHUB_APP_ID, GITHUB_PRIVATE_KEY(_PATH), GITHUB_WEBHOOK_SECRET): fine for the CLI and for Actions alone"),
        ("skipped", "app settings", "no App settings in the environment (GITHUB_APP_ID, GITHUB_PRIVATE_KEY(_PATH), GITHUB_WEBHOOK_SECRET): fine for the CLI and for Actions alone"),
        ("skipped", "github", "no credentials in the environment (the App settings, or GITHUB_TOKEN in Actions)"),
        ("", "", "No problems found."),
    ]


def test_a_missing_template_and_a_missing_database_folder_are_named(doctor, repo):
    (repo / "templates" / "case-study.md").unlink()
    code, rows = doctor(GITHUB_WEBHOOK_SECRET="s", GITHUB_APP_ID="1", GITHUB_PRIVATE_KEY="key", CHALLENGE_BOT_DB=str(repo / "data" / "bot.sqlite3"))
    assert code == 1
    assert rows[1] == ("problem", "template", ".github/challenge-bot.yml: paths.template: cannot read templates/case-study.md: [Errno 2] No such file or directory: '" + str(repo / "templates/case-study.md") + "'")
    assert rows[3] == ("problem", "app settings", f"CHALLENGE_BOT_DB={repo}/data/bot.sqlite3: the folder {repo}/data does not exist; create it (on persistent storage) or point CHALLENGE_BOT_DB at a file in a folder that does")
    assert rows[-1] == ("", "", "2 problem(s) found; each line above names the setting or file to fix.")


def test_the_app_is_checked_against_github(doctor, fake_github, tmp_path):
    fake_github.create_repo(REPO_NAME, files=base_files())
    app = {"GITHUB_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": str(fake_github.app_id), "GITHUB_PRIVATE_KEY": fake_github.private_key_pem,
           "GITHUB_API_URL": fake_github.base_url, "CHALLENGE_BOT_DB": str(tmp_path / "deliveries.sqlite3")}
    code, rows = doctor("--repo", REPO_NAME, **app)
    assert code == 0, rows
    assert rows[2:5] == [
        ("ok", "store", f"sqlite:{tmp_path}/deliveries.sqlite3 opened"),
        ("ok", "app settings", f"App {fake_github.app_id}, webhook secret and private key set; API {fake_github.base_url}"),
        ("ok", "github", f"App {fake_github.app_id} is installed on {REPO_NAME} (installation {fake_github.installation_id}) at {fake_github.base_url}"),
    ]
    code, rows = doctor("--repo", "octo/elsewhere")
    assert code == 1 and rows[4][0] == "problem" and rows[4][2].startswith(f"App {fake_github.app_id} could not reach octo/elsewhere at {fake_github.base_url}: ")
    code, rows = doctor("--repo", REPO_NAME, GITHUB_PRIVATE_KEY="not a key")
    assert code == 1 and rows[4][:2] == ("problem", "github") and "cannot sign the App's token" in rows[4][2]


def test_a_workflow_token_is_checked_against_github(doctor, fake_github):
    fake_github.create_repo(REPO_NAME, files=base_files())
    fake_github.add_token(TOKEN)
    code, rows = doctor(GITHUB_TOKEN=TOKEN, GITHUB_REPOSITORY=REPO_NAME, GITHUB_API_URL=fake_github.base_url)
    assert code == 0 and rows[4] == ("ok", "github", f"GITHUB_TOKEN can read {REPO_NAME} (default branch main) at {fake_github.base_url}")
    code, rows = doctor(GITHUB_TOKEN="ghs_wrong")
    assert code == 1 and rows[4][:2] == ("problem", "github") and "GitHub answered 401" in rows[4][2]


def test_no_config_is_a_problem_not_a_traceback(doctor, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("not-a-knowledge-base"))
    code, rows = doctor()
    assert code == 1 and rows[0][:2] == ("problem", "config") and rows[1] == ("skipped", "template", "needs a valid config first")


# --- startup errors ------------------------------------------------------------------------


def test_a_database_in_a_missing_folder_is_named_with_its_setting(tmp_path):
    target = tmp_path / "data" / "challenge-bot.sqlite3"
    with pytest.raises(settings_mod.SettingsError) as caught:
        settings_mod.load({"GITHUB_WEBHOOK_SECRET": "s", "CHALLENGE_BOT_DB": str(target)})
    assert str(caught.value) == (
        f"CHALLENGE_BOT_DB={target}: the folder {target.parent} does not exist; create it (on persistent storage) "
        "or point CHALLENGE_BOT_DB at a file in a folder that does"
    )


@pytest.mark.skipif(shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="gunicorn is in the app extra")
def test_gunicorn_prints_a_startup_error_as_one_line_without_a_traceback(tmp_path):
    """The README's example: CHALLENGE_BOT_DB=/data/… on a host without /data."""
    env = {**os.environ, "GITHUB_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": "key", "CHALLENGE_BOT_DB": str(tmp_path / "data" / "x.sqlite3")}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = subprocess.run(
        [gunicorn, "--workers", "1", "--bind", "127.0.0.1:0", "--no-control-socket", "bot.service.app:create_app()"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 4  # gunicorn's "App failed to load": it stops instead of restarting workers
    assert f"CHALLENGE_BOT_DB={tmp_path}/data/x.sqlite3: the folder {tmp_path}/data does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_prints_the_same_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("CHALLENGE_BOT_DB", str(tmp_path / "data" / "x.sqlite3"))
    monkeypatch.setenv("GITHUB_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == f"challenge-bot: error: GITHUB_PRIVATE_KEY_PATH: cannot read {tmp_path}/missing.pem: No such file or directory\n"
    monkeypatch.delenv("GITHUB_PRIVATE_KEY_PATH")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.startswith(f"challenge-bot: error: CHALLENGE_BOT_DB={tmp_path}/data/x.sqlite3: the folder {tmp_path}/data does not exist")
