"""A listing command starts lean (issue 15): no pydantic once its config file validated before,
no sqlite-utils to read the store; and the remembered config never changes what a command does.
A daemon with password auth loads no OAuth2 client, and none of icalendar before a meeting.

The module checks run in a fresh interpreter (`python -c`), since this test process has long
imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from configs import maildir_config
from helpers import drop, invoke, store_with_a_draft
from mailfactory import client_mail

from inboxops.store import Store

ROOT = Path(__file__).resolve().parent.parent

# Runs `drafts --json` in this interpreter and prints which heavy modules it imported.
PROBE = """
import json, sys
from click.testing import CliRunner
from inboxops.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "sqlite_utils",
               "pydantic_core", "jinja2", "icalendar", "dateutil", "aiosmtplib"})
print(json.dumps({"code": result.exit_code, "output": result.output, "heavy": heavy}))
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own (also for the subprocesses, through the env)."""
    folder = tmp_path / "cache"
    monkeypatch.delenv("CACHE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "inboxops"


def probe(config: Path, *args: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE, "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_a_second_listing_starts_without_pydantic_or_sqlite_utils(
    tmp_path: Path, cache: Path
) -> None:
    config = maildir_config(tmp_path)
    store_with_a_draft(tmp_path / "inboxops.db", confidence=0.5, reasons='["a reason"]')

    first = probe(config, "drafts", "--json")  # validates the file, and remembers it
    second = probe(config, "drafts", "--json")

    assert first["code"] == second["code"] == 0
    assert "pydantic" in first["heavy"]  # type: ignore[operator]
    assert second["heavy"] == [], second["heavy"]
    assert second["output"] == first["output"]  # the same answer, review flag included
    (draft,) = json.loads(second["output"])  # type: ignore[arg-type]
    assert draft["subject"] == "Re: hi" and draft["needs_review"] is True
    assert len(list(cache.glob("config-*.json"))) == 1


def test_a_changed_file_is_validated_again(tmp_path: Path, cache: Path) -> None:
    config = maildir_config(tmp_path)
    assert invoke(config, "drafts").exit_code == 0
    good = config.read_text()

    config.write_text(good + "\n[classify]\nreview_below = 7\n")
    result = invoke(config, "drafts")
    assert result.exit_code == 1 and "[classify] review_below" in result.output

    moved = tmp_path / "elsewhere" / "state.db"  # a new store path is taken, not the old one
    config.write_text(good.replace(str(tmp_path / "inboxops.db"), str(moved)))
    assert invoke(config, "drafts").exit_code == 0
    assert moved.exists()


def test_the_threshold_comes_from_the_file_not_a_stale_cache(
    tmp_path: Path, cache: Path
) -> None:
    config = maildir_config(tmp_path)
    store_with_a_draft(tmp_path / "inboxops.db", confidence=0.5, reasons='["a reason"]')
    assert "REVIEW" in invoke(config, "drafts").output  # confidence 0.5 < 0.83
    config.write_text(config.read_text() + "\n[classify]\nreview_below = 0.4\n")
    assert "REVIEW" not in invoke(config, "drafts").output
    assert "REVIEW" not in invoke(config, "drafts").output  # remembered now, same answer


def test_a_cache_that_cannot_be_written_or_read_changes_nothing(
    tmp_path: Path, cache: Path
) -> None:
    config = maildir_config(tmp_path)
    store_with_a_draft(tmp_path / "inboxops.db", confidence=0.5, reasons='["a reason"]')
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the folder should be")  # unwritable, as under ProtectHome
    assert "Re: hi" in invoke(config, "drafts").output
    cache.unlink()
    assert invoke(config, "drafts").exit_code == 0
    (entry,) = cache.glob("config-*.json")
    entry.write_text("{not json")  # damaged: ignored, the file is loaded in full
    assert "Re: hi" in invoke(config, "drafts").output
    entry.write_text(json.dumps({"key": "0" * 64, "store_path": "/nonexistent/x.db",
                                 "review_below": 0.1}))  # another file's entry
    assert "Re: hi" in invoke(config, "drafts").output


def test_reads_keep_sqlite_utils_names_for_repeated_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.query("SELECT 1 AS a, 2 AS a, 3 AS a_2, 4 AS b") == [
        {"a": 1, "a_3": 2, "a_2": 3, "b": 4}]
    assert store.query("SELECT :x AS x", {"x": 5}) == [{"x": 5}]
    assert store.one("SELECT 1 AS a WHERE 0") is None


# A daemon's pass in this interpreter, then the modules it loaded.
DAEMON = """
import asyncio, json, sys
from inboxops.config import load
from inboxops.service.daemon import Daemon
daemon = Daemon(load(sys.argv[1]))
asyncio.run(daemon.run_once())
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

# Only an OAuth2 account needs these; only a meeting or an iTIP mail needs icalendar.
NOT_YET = {"authlib", "requests", "urllib3", "joserfc", "cryptography", "charset_normalizer",
           "idna", "icalendar", "recurring_ical_events"}


def test_a_password_daemon_drafting_a_reply_loads_no_oauth_or_calendar_code(
    tmp_path: Path, cache: Path
) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000000.M1P1.test", client_mail())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", DAEMON, str(config)], capture_output=True,
                          text=True, env=env, timeout=120, check=True)
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))

    (draft,) = json.loads(invoke(config, "drafts", "--json").output)  # it did draft a reply
    assert draft["category"] == "inquiry"
    assert "jinja2" in loaded  # the reply was rendered in that process
    assert loaded & NOT_YET == set()
