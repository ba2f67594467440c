"""DATA_DIR/run.env: what a running `newsletter run` listens on, so CLI commands in a second shell build the same links.

`newsletter run` writes it once its settings are known and removes it when it stops. Settings read it after the
environment and before `.env` (see Settings.settings_customise_sources): an explicit variable in the second shell
still wins, and a file left behind by a run that was killed is ignored because it names a process that is gone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

RUN_FILE = "run.env"
PID_KEY = "NEWSLETTER_RUN_PID"  # not a setting: whose run the file describes


def run_file_path(data_dir: Path) -> Path:
    """Where the run file of this DATA_DIR lives: with the data it describes."""
    return data_dir / RUN_FILE


def _alive(pid: int) -> bool:
    """True when pid is a running `newsletter run` (a recycled pid of another program does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: trust the pid
    return b"run" in cmdline.split(b"\0")


def _recorded(data_dir: Path) -> tuple[int, dict[str, str]] | None:
    """(pid, settings) as the file says, alive or not; None without a readable file."""
    values = dotenv_values(run_file_path(data_dir)) if run_file_path(data_dir).is_file() else {}
    try:
        pid = int(values.pop(PID_KEY) or "")
    except (KeyError, ValueError):
        return None
    return pid, {key: value for key, value in values.items() if value is not None}


def read_run_file(data_dir: Path) -> tuple[int, dict[str, str]] | None:
    """(pid, settings) of the live run using this DATA_DIR, or None when there is none."""
    found = _recorded(data_dir)
    return found if found and _alive(found[0]) else None


def write_run_file(data_dir: Path, values: dict[str, str]) -> Path:
    """Record this process's effective settings for other shells (atomically: a reader never sees half a file)."""
    path = run_file_path(data_dir)
    lines = [
        "# Written by `newsletter run` while it runs; removed when it stops. Do not edit.",
        f"{PID_KEY}={os.getpid()}",
        *(f"{key}={value}" for key, value in values.items()),
    ]
    temporary = path.with_name(f".{RUN_FILE}.{os.getpid()}")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def remove_run_file(data_dir: Path) -> None:
    """Forget the run, but only our own file (a second run may have replaced it)."""
    found = _recorded(data_dir)
    if found and found[0] == os.getpid():
        run_file_path(data_dir).unlink(missing_ok=True)


class RunFileSource(PydanticBaseSettingsSource):
    """A settings source reading DATA_DIR/run.env, DATA_DIR itself coming from the sources before it."""

    def __init__(self, settings_cls: type[BaseSettings], *earlier: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self.earlier = earlier

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: __call__ reads the whole file at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The live run's values, keyed by field name; nothing when no run uses this DATA_DIR."""
        data_dir = "var"
        for source in self.earlier:
            values = source()
            if "data_dir" in values:
                data_dir = values["data_dir"]
                break
        found = read_run_file(Path(data_dir))
        if not found:
            return {}
        fields = self.settings_cls.model_fields
        return {key.lower(): value for key, value in found[1].items() if key.lower() in fields}
