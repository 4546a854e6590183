"""Sandboxed Jinja2 for reply templates (TPL-1..4), looked up file by file.

Templates are operator files; client text only ever enters as a variable, never as template
source. The environment is the immutable sandbox, undefined variables fail the draft loudly
(StrictUndefined), HTML templates are autoescaped by their `.html` suffix, and output is capped.

Each name is looked up in the office's folder first, then in the templates packaged with
inboxops (a ChoiceLoader, as Datasette layers user and built-in templates), so an office copies
and edits only the files it changes, and an upgrade brings new templates it never copied. The
folder may be absent: then every template is the packaged one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from inboxops.defaults import TEMPLATES as PACKAGED
from inboxops.errors import TemplateError

MAX_OUTPUT = 200_000


class Renderer:
    """Renders `<name>.<lang>.<part>` template sets: the office's folder, then the packaged ones."""

    def __init__(self, folder: Path, defaults: Path | None = PACKAGED) -> None:
        if folder.exists() and not folder.is_dir():
            raise TemplateError(
                f"template path {folder} is not a folder. Fix: set [replies] templates."
            )
        self.folder = folder
        self.layers = [p for p in (folder, defaults) if p is not None and p.is_dir()]
        if not self.layers:
            raise TemplateError(
                f"template folder {folder} does not exist. Fix: set [replies] templates."
            )
        loaders: list[BaseLoader] = [FileSystemLoader(str(p)) for p in self.layers]
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def source_of(self, name: str) -> Path | None:
        """The file a template name resolves to (the office's copy wins), or None."""
        return next((p / name for p in self.layers if (p / name).is_file()), None)

    def has(self, name: str) -> bool:
        return self.source_of(name) is not None

    def overrides(self) -> list[str]:
        """Names the office's folder changes (what `inboxops check` reports)."""
        if not self.folder.is_dir() or self.folder not in self.layers:
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())

    def describe(self) -> str:
        """Where templates come from, for `inboxops check` (a mistyped folder shows here)."""
        packaged = next((str(p) for p in self.layers if p != self.folder), "none")
        if self.folder not in self.layers:
            return f"packaged ({packaged}); {self.folder} does not exist, so none is replaced"
        changed = self.overrides()
        return (f"{self.folder}: {len(changed)} file(s) there replace the packaged ones, the "
                f"rest are packaged ({packaged})")

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render one template; raise TemplateError naming the template and the problem."""
        try:
            out = self.env.get_template(name).render(**context)
        except TemplateNotFound:
            where = " or ".join(str(p) for p in self.layers)
            raise TemplateError(f"template {name} not found in {where}") from None
        except SecurityError as e:
            raise TemplateError(f"template {name}: unsafe operation refused ({e})") from None
        except JinjaTemplateError as e:
            raise TemplateError(f"template {name}: {e}") from None
        if len(out) > MAX_OUTPUT:
            raise TemplateError(f"template {name}: output over {MAX_OUTPUT} characters")
        return out

    def render_set(
        self, name: str, language: str, context: dict[str, Any], html: bool = True
    ) -> tuple[str, str, str | None]:
        """(subject, text, html or None) for a template set in one language.

        The HTML part is used only when it comes from the same folder as the text part: an
        office that rewrote `.body.txt` but not `.body.html` would otherwise send two different
        letters in one message (HTML clients show the packaged wording, text clients theirs)."""
        subject = self.render(f"{name}.{language}.subject.txt", context).strip()
        text_name = f"{name}.{language}.body.txt"
        text = self.render(text_name, context).rstrip() + "\n"
        html_name = f"{name}.{language}.body.html"
        text_from, html_from = self.source_of(text_name), self.source_of(html_name)
        same = text_from is not None and html_from is not None and (
            text_from.parent == html_from.parent)
        body_html = self.render(html_name, context) if html and same else None
        return subject, text, body_html
