"""PyInstaller entry: runs `app.cli:main`, exactly what the `chargebench` console script runs.

app/cli.py is not frozen as the top-level script itself: as `__main__` it would lose its
package, and with it any relative import.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
