"""Packaged defaults: the starting config is generated from the schema (and is the repository's
config.toml), `inboxops init` never overwrites, and templates are looked up file by file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from inboxops import config
from inboxops.cli import main
from inboxops.defaults import TEMPLATES
from inboxops.defaults.starter import STARTING_VALUES, config_toml
from inboxops.errors import TemplateError
from inboxops.responders.render import Renderer

REPO = Path(__file__).resolve().parent.parent
CONTEXT = {"client_name": "Ana", "client_addr": "ana@client.example", "company": "Test Office",
           "signature": "Team", "quoted": "> hi", "quoted_html": "hi", "references": [],
           "reply_subject": "Re: Prices", "original_date": "today"}


def test_repository_config_is_the_generated_one() -> None:
    assert (REPO / "config.toml").read_text(encoding="utf-8") == config_toml(), (
        "config.toml differs from the schema: python -m inboxops.defaults.starter > config.toml")


def test_generated_config_holds_every_key_at_its_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config_toml(), encoding="utf-8")
    loaded = config.load(path)
    written = tomllib.loads(path.read_text(encoding="utf-8"))
    for section, model in config._SECTIONS.items():
        text_keys = set(written[section])
        for name, field in model.model_fields.items():
            key = field.alias or name
            expected = STARTING_VALUES.get(section, {}).get(name, field.default)
            if expected is None:  # shown commented out, with an example
                assert key not in text_keys
                assert f"# {key} = " in path.read_text(), f"[{section}] {key} not shown"
                continue
            assert key in text_keys, f"[{section}] {key} missing"
            got = getattr(getattr(loaded, section), name)
            if isinstance(got, Path):
                expected = tmp_path / expected
            assert got == expected, f"[{section}] {key}: {got!r} != {expected!r}"
            assert field.description, f"[{section}] {key} has no help text"


def test_instance_config_keeps_state_in_its_own_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path), "--instance", "support"])
    assert result.exit_code == 0, result.output
    cfg = config.load(tmp_path / "support.toml")
    state = Path("/var/lib/inboxops/support")
    assert cfg.store.path == state / "inboxops.db"
    assert cfg.smtp.path == state / "outbox" and cfg.mailbox.path == state / "mail"
    assert cfg.web.secret_file == state / "web-secret"
    assert cfg.replies.templates == tmp_path / "templates"  # shared by the instances
    bad = CliRunner().invoke(main, ["init", str(tmp_path), "--instance", "../x"])
    assert bad.exit_code != 0


def test_init_never_overwrites(tmp_path: Path) -> None:
    first = CliRunner().invoke(main, ["init", str(tmp_path), "--templates"])
    assert first.exit_code == 0, first.output
    assert f"wrote {tmp_path / 'config.toml'}" in first.output
    copied = sorted(p.name for p in (tmp_path / "templates").iterdir())
    assert copied == sorted(p.name for p in TEMPLATES.iterdir() if p.is_file())
    (tmp_path / "config.toml").write_text("[log]\nlevel = \"DEBUG\"\n")
    (tmp_path / "templates" / "ack.en.body.txt").write_text("ours\n")
    again = CliRunner().invoke(main, ["init", str(tmp_path), "--templates"])
    assert again.exit_code == 0, again.output
    assert "kept" in again.output and "0 copied" in again.output
    assert (tmp_path / "config.toml").read_text() == "[log]\nlevel = \"DEBUG\"\n"
    assert (tmp_path / "templates" / "ack.en.body.txt").read_text() == "ours\n"


def test_one_template_file_replaces_only_its_packaged_twin(tmp_path: Path) -> None:
    (tmp_path / "inquiry.en.body.txt").write_text("Our own words for {{ client_name }}.\n")
    ours, packaged = Renderer(tmp_path), Renderer(tmp_path / "absent")
    subject, text, html = ours.render_set("inquiry", "en", CONTEXT)
    assert text == "Our own words for Ana.\n"
    assert subject == packaged.render_set("inquiry", "en", CONTEXT)[0]  # not overridden
    # The packaged HTML would say something else than the office's text: it is left out.
    assert html is None
    assert ours.render_set("complaint", "en", CONTEXT) == packaged.render_set(
        "complaint", "en", CONTEXT)
    assert packaged.render_set("complaint", "en", CONTEXT)[2] is not None
    assert ours.overrides() == ["inquiry.en.body.txt"]
    assert "1 file(s) there replace" in ours.describe()
    assert "does not exist" in packaged.describe()


def test_template_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "templates").write_text("not a folder")
    with pytest.raises(TemplateError, match="not a folder"):
        Renderer(tmp_path / "templates")
    with pytest.raises(TemplateError, match="does not exist"):
        Renderer(tmp_path / "absent", defaults=None)


def test_state_dir_for_the_single_unit(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path), "--state-dir", "/var/lib/inboxops"])
    assert result.exit_code == 0, result.output
    cfg = config.load(tmp_path / "config.toml")
    assert cfg.store.path == Path("/var/lib/inboxops/inboxops.db")
    assert CliRunner().invoke(main, ["init", str(tmp_path / "x"), "--state-dir", "rel"]).exit_code
