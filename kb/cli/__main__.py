"""`python -m kb.cli` runs the `kb` command."""

import sys

from kb.cli import main

sys.exit(main())
