"""``gridctl``'s entry point: the client, told where the bot's configuration puts the bot.

The bot prints the token file it wrote (``./data/api-token`` by default); ``gridctl`` must
find it without a flag. Both therefore resolve it with the same code
(:func:`bootstrap.token_location.token_path`) from the same configuration: the embedded
default, or the file ``gridctl --config`` names, with ``GRIDBOT_DATA_DIR`` and
``GRIDBOT_GRPC_ADDRESS`` applied as the bot applies them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from adapters.control_client.cli import main as client_main
from adapters.control_client.errors import UsageError
from adapters.control_client.settings import BotLocation
from bootstrap.config import ConfigError, load_config
from bootstrap.token_location import token_path


def locate_bot(config_path: str | None) -> BotLocation:
    """Where the bot running with ``config_path`` (None: the default) listens and keeps its token.

    Raises:
        UsageError: The config cannot be read or is invalid (one line, exit code 2).
    """
    try:
        config = load_config(config_path, os.environ)
    except ConfigError as exc:
        raise UsageError(f"config error: {exc}") from exc
    return BotLocation(address=config.control.address, token_file=token_path(config))


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point (``gridctl``)."""
    return client_main(argv, locate=locate_bot)


if __name__ == "__main__":
    sys.exit(main())
