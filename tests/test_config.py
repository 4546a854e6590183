"""config.toml: validation messages that name the key and the fix; the example documents all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from inboxops import config
from inboxops.cli import main
from inboxops.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_config_is_the_embedded_default() -> None:
    cfg = config.load(REPO / "config.toml")
    assert cfg.mailbox.kind == "maildir"
    assert cfg.mailbox.path == REPO / "var" / "mail"
    assert cfg.smtp.kind == "outbox-dir"
    assert cfg.store.path == REPO / "var" / "inboxops.db"


def test_every_key_is_documented_in_the_example() -> None:
    text = (REPO / "config.toml").read_text()
    for section, model in config._SECTIONS.items():
        assert f"[{section}]" in text
        for name, field in model.model_fields.items():
            key = field.alias or name
            assert re.search(rf"^#?\s*{key}\s*=", text, re.M), f"[{section}] {key} undocumented"
            assert field.description, f"[{section}] {key} has no help text"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mailbox]\nport = 'abc'\n", "[mailbox] port"),
        ("[mailbox]\nprot = 993\n", 'unknown key. Did you mean "port"?'),
        ("[smtp]\nfrom = 'nobody'\n", '[smtp] from: expected "Name <address@domain>"'),
        ("[meetings]\ntimezone = 'Mars/Olympus'\n", "[meetings] timezone: unknown timezone"),
        ("[digest]\ntime = '25:00'\n", '[digest] time: expected "HH:MM"'),
        (
            "[mailbox]\nkind = 'imap'\nhost = 'imap.example.com'\nsecurity = 'none'\n",
            "only allowed for a loopback host",
        ),
        ("[mailbox\nkind = 1\n", "not valid TOML"),
        ("[nonsense]\nx = 1\n", "nonsense: unknown key"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, text))
    assert expected in str(err.value)
    assert str(tmp_path / "config.toml") in str(err.value)


def test_cli_reports_bad_config_in_one_line_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[mailbox]\nport = 'abc'\n")
    result = CliRunner().invoke(main, ["--config", str(path), "drafts"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "[mailbox] port" in result.output
    assert "Traceback" not in result.output


def test_config_chosen_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[store]\npath = 'state.db'\n")
    monkeypatch.setenv("INBOXOPS_CONFIG", str(path))
    assert config.load().store.path == tmp_path / "state.db"


def test_missing_config_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config PATH or set INBOXOPS_CONFIG"):
        config.load(tmp_path / "absent.toml")


def test_password_by_reference_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    cfg = config.load(write(tmp_path, f"[mailbox]\npassword_file = '{secret}'\n"))
    assert cfg.mailbox.password("mailbox") == "s3cret"
    cfg = config.load(write(tmp_path, "[mailbox]\npassword_env = 'X_TEST_PW'\n"))
    monkeypatch.delenv("X_TEST_PW", raising=False)
    with pytest.raises(ConfigError, match="X_TEST_PW is not set"):
        cfg.mailbox.password("mailbox")
    monkeypatch.setenv("X_TEST_PW", "from-env")
    assert cfg.mailbox.password("mailbox") == "from-env"
    with pytest.raises(ConfigError, match="unknown key"):
        config.load(write(tmp_path, "[mailbox]\npassword = 'plain'\n"))


def test_old_ageing_days_still_sets_the_complaint_sla(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "[digest]\nageing_days = 2\n"))
    assert cfg.sla.complaint_hours == 48
    cfg = config.load(write(tmp_path, "[digest]\nageing_days = 2\n[sla]\ncomplaint_hours = 8\n"))
    assert cfg.sla.complaint_hours == 8  # the new key wins


def test_reminder_addresses_and_digest_language_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[sla\] remind"):
        config.load(write(tmp_path, '[sla]\nremind = ["not an address"]\n'))
    with pytest.raises(ConfigError, match=r"\[digest\] language"):
        config.load(write(tmp_path, '[digest]\nlanguage = "fr"\n'))
