"""``python -m hpsearch`` is the ``hpsearch`` command."""

import sys

from hpsearch.cli.main import main

sys.exit(main())
