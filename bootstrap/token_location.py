"""Where the bot keeps its control-plane token: one answer for the bot and for ``gridctl``.

The bot writes a random token to this file on its first start and prints the path;
``gridctl`` reads the same file without being told where it is, so both must resolve it the
same way: ``control.token_file`` when configured, else ``<data_dir>/api-token`` with
``storage.data_dir`` (default ``./data``) overridden by ``GRIDBOT_DATA_DIR``.
"""

from __future__ import annotations

from pathlib import Path

from bootstrap.config import AppConfig

#: Token file created in the data directory when no token is configured.
DEFAULT_TOKEN_FILE = "api-token"


def token_path(config: AppConfig) -> Path:
    """The token file of the bot that runs with ``config`` (it may not exist yet)."""
    if config.control.token_file is not None:
        return Path(config.control.token_file).expanduser()
    return config.storage.data_dir / DEFAULT_TOKEN_FILE
