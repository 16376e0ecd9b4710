"""``python -m bot`` is the same as the ``dalsbot`` command."""

from bot.shell.cli.main import main

raise SystemExit(main())
