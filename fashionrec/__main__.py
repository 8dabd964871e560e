import sys

from fashionrec.cli import main

sys.exit(main())
