"""`python -m censorscope`: the command line, as the `censorscope` script."""

import sys

from censorscope.cli.main import main

sys.exit(main())
