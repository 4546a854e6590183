"""Learning from the assistant: a correction changes the next similar message, survives a
restart, is in the event log, and `inboxops eval` measures with and without it."""

from __future__ import annotations

import json
from pathlib import Path

from configs import maildir_config
from helpers import cli, drafts, drop, invoke
from mailfactory import client_mail

PARKING = ("Parking permit for the courtyard",
           "Hello, the courtyard barrier card stopped opening the gate for our van.")
PARKING_AGAIN = ("Courtyard gate card", "Hi, my barrier card for the courtyard gate stopped "
                 "opening it this morning.")


def message_ids(config: Path) -> dict[str, int]:
    rows = json.loads(cli(config, "messages", "--json"))
    return {r["subject"]: r["id"] for r in rows}


def test_a_correction_changes_the_next_similar_message_and_survives_restart(
    tmp_path: Path,
) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000001.M1P1.t", client_mail(subject=PARKING[0], body=PARKING[1]))
    cli(config, "run", "--once")
    first = message_ids(config)[PARKING[0]]
    before = json.loads(cli(config, "messages", "--json"))[0]
    assert before["category"] != "complaint"
    had_draft = len(drafts(config))

    out = cli(config, "reclassify", str(first), "complaint")
    assert "learned from the correction" in out
    (draft,) = drafts(config)
    assert draft["category"] == "complaint"  # any draft for the old category was superseded
    assert had_draft in (0, 1)

    # A new process (a restart) sees the correction: it lives in SQLite.
    drop(tmp_path / "mail", "1700000002.M1P1.t",
         client_mail(subject=PARKING_AGAIN[0], body=PARKING_AGAIN[1]))
    cli(config, "run", "--once")
    rows = {r["subject"]: r for r in json.loads(cli(config, "messages", "--json"))}
    assert rows[PARKING_AGAIN[0]]["category"] == "complaint"

    import sqlite3

    db = sqlite3.connect(tmp_path / "inboxops.db")
    (detail,) = db.execute("SELECT detail FROM events WHERE event = 'reclassified'").fetchone()
    assert json.loads(detail) == {"from": before["category"], "to": "complaint",
                                  "origin": "reclassify"}
    first_drafts = db.execute(
        "SELECT category, state FROM drafts WHERE message_pk = ? ORDER BY id", (first,)).fetchall()
    assert first_drafts[-1] == ("complaint", "pending")
    assert all(state == "superseded" for _, state in first_drafts[:-1])


def test_reclassify_to_other_leaves_no_draft(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000003.M1P1.t", client_mail())
    cli(config, "run", "--once")
    (message,) = json.loads(cli(config, "messages", "--json"))
    cli(config, "reclassify", str(message["id"]), "other")
    assert drafts(config) == []
    result = invoke(config, "reclassify", "999", "other")
    assert result.exit_code == 1 and "no message with id 999" in result.output


def write_jsonl(path: Path, items: list[tuple[str, str, str]]) -> Path:
    path.write_text("\n".join(json.dumps({"id": str(i), "lang": "en", "label": label,
                                          "subject": subject, "body": body})
                              for i, (label, subject, body) in enumerate(items)) + "\n")
    return path


def test_eval_reports_scores_and_learn_from_helps(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    test = write_jsonl(tmp_path / "test.jsonl", [
        ("complaint", PARKING_AGAIN[0], PARKING_AGAIN[1]),
        ("inquiry", "Price list", "Could you send me your price list for 2027?"),
        ("meeting", "Meeting", "Can we schedule a meeting on Tuesday at 3pm?"),
        ("other", "Sale!", "Unsubscribe here. Newsletter: 50% discount this week only."),
    ])
    train = write_jsonl(tmp_path / "train.jsonl", [("complaint", PARKING[0], PARKING[1])])
    plain = json.loads(cli(config, "eval", str(test), "--json"))
    learned = json.loads(cli(config, "eval", str(test), "--json", "--learn-from", str(train)))
    assert plain["n"] == learned["n"] == 4
    assert set(plain["per_class"]) == {"inquiry", "complaint", "meeting", "other"}
    assert plain["per_class"]["complaint"]["recall"] == 0.0
    assert learned["per_class"]["complaint"]["recall"] == 1.0
    assert learned["macro_f1"] > plain["macro_f1"]
    text = cli(config, "eval", str(test))
    assert "macro-F1" in text and "confusion" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": "spam", "subject": "", "body": ""}\n')
    result = invoke(config, "eval", str(bad))
    assert result.exit_code == 1 and "bad.jsonl:1" in result.output


def test_no_second_reply_after_a_late_correction(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    drop(tmp_path / "mail", "1700000004.M1P1.t", client_mail())
    cli(config, "run", "--once")
    (draft,) = drafts(config)
    cli(config, "approve", str(draft["id"]))
    (message,) = json.loads(cli(config, "messages", "--json"))
    out = cli(config, "reclassify", str(message["id"]), "complaint")
    assert "new draft" not in out
    assert drafts(config) == []
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_staff_addresses_are_matched_case_insensitively(tmp_path: Path) -> None:
    from inboxops import config as config_module

    path = tmp_path / "c.toml"
    path.write_text("[meetings]\nstaff = ['Ana.Pop@Firm.Example']\n")
    assert config_module.load(path).meetings.staff == ["ana.pop@firm.example"]
