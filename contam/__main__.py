"""``python -m contam`` is the ``contam`` command."""

from contam.cli import main

main()
