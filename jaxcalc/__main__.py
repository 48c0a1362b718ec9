"""``python -m jaxcalc``: the same as the ``jaxcalc`` command."""

import sys

from jaxcalc.cli import main

sys.exit(main())
