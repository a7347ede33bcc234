import sys

from hpt.cli.commands import main

sys.exit(main())
