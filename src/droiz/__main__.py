import sys

from droiz.cli import main

sys.exit(main())
