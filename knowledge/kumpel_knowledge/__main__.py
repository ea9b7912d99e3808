"""``python -m kumpel_knowledge`` runs the same command line as ``kumpel-knowledge``."""

import sys

from .cli import main

sys.exit(main())
