"""Sandboxed Jinja2 for reply templates (TPL-1..4).

Templates are operator files; client text only ever enters as a variable, never as template
source. The environment is the immutable sandbox, undefined variables fail the draft loudly
(StrictUndefined), HTML templates are autoescaped by their `.html` suffix, and output is capped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from inboxops.errors import TemplateError

MAX_OUTPUT = 200_000


class Renderer:
    """Renders `<name>.<lang>.<part>` template sets from one folder."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise TemplateError(
                f"template folder {folder} does not exist. Fix: set [replies] templates."
            )
        self.folder = folder
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(folder)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def has(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render one template; raise TemplateError naming the template and the problem."""
        try:
            out = self.env.get_template(name).render(**context)
        except TemplateNotFound:
            raise TemplateError(f"template {name} not found in {self.folder}") from None
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
        """(subject, text, html or None) for a template set in one language."""
        subject = self.render(f"{name}.{language}.subject.txt", context).strip()
        text = self.render(f"{name}.{language}.body.txt", context).rstrip() + "\n"
        html_name = f"{name}.{language}.body.html"
        body_html = self.render(html_name, context) if html and self.has(html_name) else None
        return subject, text, body_html
