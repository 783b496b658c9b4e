import sys

from censorscope.cli.main import main

sys.exit(main())
