"""What ships inside the package so an install from a wheel works with no clone: the reply and
digest templates (the one copy; `inboxops init --templates` copies them out to edit) and the
starting config, generated from the schema by `inboxops.defaults.starter`.

This package holds data only and imports nothing, so any layer may ask where the templates are.
"""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
