"""Running the console: ``streamlit run`` on the packaged entry file, headless.

The theme and server options live in ``.streamlit/config.toml`` at the project root;
Streamlit reads that file only from the working directory, so the command passes its
options as flags too and the console looks the same wherever it is started.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, NoReturn

APP = Path(__file__).parent / "launcher.py"
"""The ASGI app (``st.App`` over ``app.py`` with the session cookie's routes)."""
PROJECT_CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


def command(*, port: int, host: str | None = None, config: Path = PROJECT_CONFIG) -> list[str]:
    """The ``streamlit run`` command line for the console."""
    flags = _config_flags(config) if config.exists() else {}
    flags.update(
        {
            "server.port": str(port),
            "server.headless": "true",
            "server.runOnSave": "false",
            "server.fileWatcherType": "none",
            "browser.gatherUsageStats": "false",
        }
    )
    if host is not None:
        flags["server.address"] = host
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        *(f"--{name}={value}" for name, value in flags.items()),
    ]


def run(*, port: int, host: str | None = None, env: dict[str, str] | None = None) -> NoReturn:
    """Become the Streamlit server (``exec``): signals reach it directly and no child is
    left behind when a supervisor stops the console."""
    argv = command(port=port, host=host)
    os.execve(argv[0], argv, env if env is not None else dict(os.environ))


def _config_flags(path: Path) -> dict[str, str]:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    flags: dict[str, str] = {}
    for section, options in document.items():
        if isinstance(options, dict):
            for name, value in options.items():
                flags[f"{section}.{name}"] = _flag_value(value)
    return flags


def _flag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
