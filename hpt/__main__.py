import sys

from hpt.cli import main

sys.exit(main())
