"""The people who use the bot: registration through an invitation (``registration``), the
admins' invitations (``admin``) and staff list (``staff``, wired in by ``admin``), and each
person's own data (``privacy``)."""
