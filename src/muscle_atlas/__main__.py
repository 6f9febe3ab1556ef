"""``python -m muscle_atlas``."""

import sys

from muscle_atlas.cli import main

sys.exit(main())
