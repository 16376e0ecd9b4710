"""``python -m bot`` is the same as the ``dalsbot`` command."""

from bot.cli import main

raise SystemExit(main())
