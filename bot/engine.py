"""The engine's entry point, ``kumpel-rasa``: Rasa's own CLI with Kumpel's patches applied first.

    kumpel-rasa run --model models --endpoints endpoints.yml --credentials credentials.yml ...
    kumpel-rasa train --config config.yml --domain domain.yml --data nlu_data --out models

Takes the same arguments as ``rasa``; ``bot.patches`` says what is patched and why.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from bot import limits, log_privacy, patches
from bot.channels import credentials

# Rasa configures logging only once its CLI has parsed the arguments, after the patches are in:
# until then the patches' lines go to stderr in Rasa's format, so the engine log says what was applied.
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def apply_patches() -> list[str]:
    """``patches.apply()`` with its INFO and WARNING lines shown, before Rasa's logging exists."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
    patch_logger = logging.getLogger(patches.__name__)
    level, propagate = patch_logger.level, patch_logger.propagate
    patch_logger.addHandler(handler)
    patch_logger.setLevel(logging.INFO)
    patch_logger.propagate = False
    try:
        return patches.apply()
    finally:
        patch_logger.removeHandler(handler)
        patch_logger.setLevel(level)
        patch_logger.propagate = propagate


def main(argv: Sequence[str] | None = None) -> None:
    """Apply the patches, then run Rasa's CLI with ``argv`` (default: this process's arguments)."""
    log_privacy.install()  # before any line is logged: no message text or slot value in the log
    apply_patches()
    limits.apply()  # request bodies over KUMPEL_RASA_MAX_BODY_BYTES get 413 before they are read
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    sys.argv = credentials.use_enabled_channels(sys.argv)  # channels whose ${VAR}s are unset stay off
    from rasa.__main__ import main as rasa_main  # heavy (TensorFlow): only once the patches are in

    rasa_main()


if __name__ == "__main__":
    main()
