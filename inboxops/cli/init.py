"""`inboxops init [DIR]`: a starting config (and, with --templates, templates to edit).

An install from a wheel or pipx has no clone to copy config.toml and templates/ from; this writes
them. It never overwrites a file: running it again, or over a configured office, only adds what
is missing and says what it kept.
"""

from __future__ import annotations

from pathlib import Path

import click

# systemd's StateDirectory=inboxops/%i for the template unit deploy/inboxops@.service.
INSTANCE_STATE = Path("/var/lib/inboxops")


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--templates", "copy_templates", is_flag=True,
              help="also copy the packaged templates into DIR/templates, to edit")
@click.option("--instance", metavar="NAME",
              help="write DIR/NAME.toml for the unit inboxops@NAME, its state in "
              f"{INSTANCE_STATE}/NAME")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="absolute folder for the database, outbox and Maildir (systemd's "
              "StateDirectory), instead of var/ beside the config")
def init(directory: Path, copy_templates: bool, instance: str | None,
         state_dir: Path | None) -> None:
    """Write a commented config.toml generated from the config schema; never overwrites."""
    from inboxops.defaults import TEMPLATES
    from inboxops.defaults.starter import config_toml

    if instance is not None and (not instance or "/" in instance or instance.startswith(".")):
        raise click.BadParameter(f"{instance!r} is not a usable instance name",
                                 param_hint="--instance")
    directory.mkdir(parents=True, exist_ok=True)
    if state_dir is not None and not state_dir.is_absolute():
        raise click.BadParameter("give an absolute path", param_hint="--state-dir")
    state = state_dir or (INSTANCE_STATE / instance if instance else None)
    config = directory / (f"{instance}.toml" if instance else "config.toml")
    _write_new(config, config_toml(state))
    if copy_templates:
        target = directory / "templates"
        target.mkdir(exist_ok=True)
        written = sum(_write_new(target / src.name, src.read_bytes(), quiet=True)
                      for src in sorted(TEMPLATES.iterdir()) if src.is_file())
        kept = sum(1 for src in TEMPLATES.iterdir() if src.is_file()) - written
        click.echo(f"templates: {written} copied to {target}"
                   + (f", {kept} kept (already there, not overwritten)" if kept else ""))
    click.echo(f"next: edit {config}, then: inboxops --config {config} check")


def _write_new(path: Path, content: str | bytes, quiet: bool = False) -> bool:
    """Create the file only if it does not exist (O_EXCL: no race with another writer). Files
    are copied one by one, not with copytree, so an edited template is never replaced."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with path.open("xb") as f:
            f.write(data)
    except FileExistsError:
        if not quiet:
            click.echo(f"kept {path} (already there, not overwritten)")
        return False
    if not quiet:
        click.echo(f"wrote {path}")
    return True

