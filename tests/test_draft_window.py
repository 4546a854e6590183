"""The drafting window (issue 15): mail older than `[replies] draft_window_days` is recorded,
classified and listed like any other, but gets no draft (and no meeting slot search) until
asked with `inboxops redraft ID`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from configs import maildir_config
from helpers import cli, drafts, drop
from mailfactory import client_mail

from inboxops.cli import main

COMPLAINT = ("Reclamație comanda 5512", "Bună ziua,\n\nProdusul din comanda 5512 a ajuns "
             "stricat și nu funcționează. Sunt foarte nemulțumită.\n\nMaria")
MEETING = ("Întâlnire", "Bună ziua,\n\nPutem stabili o întâlnire joi la ora 10:30 la birou?\n")


def _mail(subject: str, body: str, age_days: float, n: int) -> bytes:
    date = datetime.now().astimezone() - timedelta(days=age_days)
    return client_mail(sender=f"Maria {n} <maria{n}@client.example>", subject=subject,
                       body=body, date=date)


def _messages(config: Path) -> dict[str, dict[str, object]]:
    rows = json.loads(cli(config, "messages", "--json"))
    return {str(r["subject"]): r for r in rows}


def test_old_mail_is_sorted_and_listed_but_not_drafted(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1.M1P1.test", _mail(*COMPLAINT, age_days=30, n=1))
    drop(tmp_path / "mail", "2.M2P1.test", _mail("Old " + MEETING[0], MEETING[1], 30, 2))
    drop(tmp_path / "mail", "3.M3P1.test", _mail("New " + COMPLAINT[0], COMPLAINT[1], 1, 3))

    cli(config, "run", "--once")

    rows = _messages(config)
    assert len(rows) == 3 and all(r["state"] == "processed" for r in rows.values())
    assert rows[COMPLAINT[0]]["category"] == "complaint"
    (draft,) = drafts(config)  # only the new one
    assert draft["subject"] == "Re: New " + COMPLAINT[0]
    assert json.loads(cli(config, "meetings", "--json", "--all")) == []  # no slot searched


def test_redraft_writes_a_draft_for_old_mail_when_asked(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1.M1P1.test", _mail(*COMPLAINT, age_days=30, n=1))
    cli(config, "run", "--once")
    assert drafts(config) == []
    (row,) = json.loads(cli(config, "messages", "--json"))

    out = cli(config, "redraft", str(row["id"]))

    assert "new draft #" in out
    (draft,) = drafts(config)
    assert draft["subject"] == "Re: " + COMPLAINT[0]


def test_redraft_of_an_unknown_message_is_one_clear_error(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    cli(config, "run", "--once")
    result = CliRunner().invoke(main, ["--config", str(config), "redraft", "999"])
    assert result.exit_code == 1
    assert "no message with id 999" in result.output


def test_a_window_of_zero_drafts_all_mail(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace(
        "[replies]\n", "[replies]\ndraft_window_days = 0\n"))
    drop(tmp_path / "mail", "1.M1P1.test", _mail(*COMPLAINT, age_days=300, n=1))
    cli(config, "run", "--once")
    assert len(drafts(config)) == 1
