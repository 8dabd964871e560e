import sys

from fashionrec_cli import main

sys.exit(main())
