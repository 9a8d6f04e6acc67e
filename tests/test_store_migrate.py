"""`challenge-bot store migrate`: from SQLite on one host to PostgreSQL, and the settings that pick a store."""

from __future__ import annotations

import re

import pytest

import pgcluster
from bot.cli.main import main
from bot.service import settings as settings_mod
from bot.service.store import SQLiteStore, open_store

cluster = pgcluster.cluster_fixture()


def old_store(path: str) -> SQLiteStore:
    store = SQLiteStore(path)
    for n, key in enumerate(["o/r#1", "o/r#2", "o/r#3", "o/r@index"]):
        store.record(f"d{n}", "pull_request", "opened", key, f'{{"n": {n}}}')
    store.finish(store.claim(), "done", "reviewed")  # d0
    store.claim()  # d1: left working by a process that was stopped
    return store


def test_waiting_deliveries_move_from_sqlite_to_postgresql(tmp_path, cluster, capsys):
    path, url = str(tmp_path / "old.sqlite3"), pgcluster.Databases(cluster).new()
    old_store(path).close()
    assert main(["store", "migrate", path, url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("challenge-bot: copied 3 waiting and 0 finished deliveries from sqlite:") and out.endswith("(0 were there already)\n")
    target = open_store(url)
    assert target.counts() == {"pending": 3}
    claimed = target.claim()
    assert (claimed.id, claimed.attempts, claimed.payload) == ("d1", 2, {"n": 1})
    target.close()
    assert main(["store", "migrate", "--finished", path, url]) == 0  # again: only what is missing
    assert "copied 0 waiting and 1 finished deliveries" in capsys.readouterr().out
    target = open_store(url)
    assert target.record("d0", "pull_request", "opened", "o/r#1", "{}") is False  # a redelivery is still recognised
    target.close()


def test_migrate_says_what_is_wrong_in_one_line(tmp_path, capsys):
    assert main(["store", "migrate", str(tmp_path / "missing.sqlite3"), str(tmp_path / "new.sqlite3")]) == 2
    assert "no SQLite store at" in capsys.readouterr().err
    old_store(str(tmp_path / "old.sqlite3")).close()
    closed_port = pgcluster.free_port()
    assert main(["store", "migrate", str(tmp_path / "old.sqlite3"), f"postgresql://nobody@127.0.0.1:{closed_port}/x?connect_timeout=2"]) == 2
    err = capsys.readouterr().err
    assert "store migrate: PostgreSQL store at postgresql://nobody@127.0.0.1:" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("mysql://db/bot", "CHALLENGE_BOT_DB must be a file path (SQLite) or a postgresql:// URL, got a mysql:// URL"),
        ("https://db", "got a https:// URL"),
    ],
)
def test_a_database_that_is_neither_a_file_nor_postgresql_is_refused_at_start(value, error):
    with pytest.raises(settings_mod.SettingsError, match=re.escape(error)):
        settings_mod.load({"GITHUB_WEBHOOK_SECRET": "x", "CHALLENGE_BOT_DB": value})


def test_the_database_and_the_lease_come_from_the_environment():
    loaded = settings_mod.load({"GITHUB_WEBHOOK_SECRET": "x", "CHALLENGE_BOT_DB": "postgresql://bot@db/bot", "CHALLENGE_BOT_LEASE_SECONDS": "30"})
    assert (loaded.db_path, loaded.lease_seconds) == ("postgresql://bot@db/bot", 30.0)
    assert settings_mod.load({"GITHUB_WEBHOOK_SECRET": "x"}).lease_seconds == 60.0
    with pytest.raises(settings_mod.SettingsError, match="CHALLENGE_BOT_LEASE_SECONDS must be at least 5.0, got 1.0"):
        settings_mod.load({"GITHUB_WEBHOOK_SECRET": "x", "CHALLENGE_BOT_LEASE_SECONDS": "1"})


def test_a_sqlite_store_that_cannot_be_opened_is_a_settings_error(tmp_path):
    from bot.service.app import create_app

    with pytest.raises(settings_mod.SettingsError, match="CHALLENGE_BOT_DB: .*SQLite store .*unable to open"):
        create_app({"webhook_secret": "x", "db_path": str(tmp_path), "workers": 0}, gateway_factory=lambda i, r: None)  # a folder
