"""``python -m bot`` is the same as the ``dalsbot`` command."""

import gc

# Without the cyclic garbage collector while the command line loads (see main()).
gc.disable()

from bot.shell.cli.main import main  # noqa: E402

raise SystemExit(main())
