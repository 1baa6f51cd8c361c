"""`python -m gates`."""

import sys

from gates.entry import main

sys.exit(main())
