"""`python -m qa.cli`: the `reportqa` command."""

import sys

from qa.cli import main

sys.exit(main())
