"""A config file that validated before, remembered: the listing commands start without pydantic.

Validating config.toml means importing pydantic and building the schema, ~200 ms of CPU, while
`inboxops drafts` has 150 ms in all (issue 15). Validation depends only on the file's bytes, its
resolved path (relative paths are resolved against its folder), the schema (config.py) and
pydantic. So after a full `config.load`, the few settings a listing needs are written to a small
file in the user's cache folder, under a key made of exactly those; a later command reads them
back only when every part of the key is unchanged. Any change, a missing or unreadable cache, or
a cache folder that cannot be written, means a full load as before: the cache can make a command
faster, never different. (A validator that looks outside the file, the zone names of the tz
database, is the one input not in the key: a zone removed by an OS update is still caught by the
daemon and `inboxops check`, which always load in full.)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from inboxops import CONFIG_ENV_VAR, __version__

if TYPE_CHECKING:
    from inboxops.config import Config

FORMAT = 1  # bump when the fields below change


@dataclass(frozen=True)
class Basics:
    """What the listing commands use from the config."""

    store_path: Path
    review_below: float

    @classmethod
    def of(cls, cfg: Config) -> Basics:
        return cls(cfg.store.path, cfg.classify.review_below)


def config_file(config_path: str | None) -> Path:
    """The file `config.load` reads for this --config value (same fallbacks)."""
    return Path(config_path or os.environ.get(CONFIG_ENV_VAR) or "config.toml")


def cache_dir() -> Path | None:
    """systemd's CacheDirectory=, else $XDG_CACHE_HOME or ~/.cache; None without a home."""
    systemd = os.environ.get("CACHE_DIRECTORY")
    if systemd:
        return Path(systemd.split(":")[0])
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "inboxops"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "inboxops" if home else None


def _stamp(path: str | None) -> str:
    """Size and modification time of a file: changes when a package is reinstalled."""
    if path is None:
        return "-"
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _schema() -> str:
    """What decides validity besides the file: this version, config.py, pydantic, Python."""
    here = Path(__file__).resolve().parent.parent / "config.py"
    try:
        core = find_spec("pydantic_core")
        pyd = find_spec("pydantic")
    except (ImportError, ValueError):
        core = pyd = None
    return "|".join([
        str(FORMAT), __version__, sys.version, _stamp(str(here)),
        _stamp(pyd.origin if pyd else None), _stamp(core.origin if core else None),
    ])


def _key(resolved: Path, data: bytes) -> str:
    h = hashlib.sha256()
    for part in (_schema().encode(), str(resolved).encode(), data):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _entry(resolved: Path) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    name = hashlib.sha256(str(resolved).encode()).hexdigest()[:24]
    return folder / f"config-{name}.json"


def recall(config_path: str | None) -> Basics | None:
    """The settings remembered for this exact file, or None (load it in full then)."""
    try:
        path = config_file(config_path).resolve()
        entry = _entry(path)
        if entry is None:
            return None
        data = path.read_bytes()
        saved = json.loads(entry.read_text(encoding="utf-8"))
        if saved.get("key") != _key(path, data):
            return None
        return Basics(Path(saved["store_path"]), float(saved["review_below"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def remember(config_path: str | None, data: bytes, cfg: Config) -> None:
    """Note that `data`, the bytes `cfg` was validated from, is valid; best effort."""
    try:
        path = config_file(config_path).resolve()
        entry = _entry(path)
        if entry is None:
            return
        basics = Basics.of(cfg)
        text = json.dumps({"key": _key(path, data), "store_path": str(basics.store_path),
                           "review_below": basics.review_below})
        try:
            if entry.read_text(encoding="utf-8") == text:
                return  # the usual case: nothing to write
        except OSError:
            pass
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, entry)  # atomic: a reader sees the old entry or the new one
        finally:
            tmp.unlink(missing_ok=True)
    except OSError:
        return  # a read-only home (ProtectHome=, a container): full loads then
