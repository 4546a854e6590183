"""sqlite-utils, loaded without numpy and pandas.

sqlite-utils imports numpy and pandas when they are installed, only to map their number types
to column types, which the store never writes. That is ~60 ms of every CLI command (issue 15:
`drafts --json` within 150 ms). Both are hidden while sqlite-utils loads; a module that
imports them later (`eval --plot`) still gets them.
"""

import sys

_HIDDEN = [name for name in ("numpy", "pandas") if name not in sys.modules]
for _name in _HIDDEN:
    sys.modules[_name] = None  # type: ignore[assignment]  # "import numpy" fails at once
try:
    from sqlite_utils import Database, Migrations
finally:
    for _name in _HIDDEN:
        if _name in sys.modules and sys.modules[_name] is None:
            del sys.modules[_name]

__all__ = ["Database", "Migrations"]
