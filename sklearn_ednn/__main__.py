"""``python -m sklearn_ednn``: the ``sklearn-ednn`` command line."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
