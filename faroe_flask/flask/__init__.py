"""The Flask integration: the extension, its configuration, the endpoint blueprint, the email
senders, the ``flask faroe`` commands, sessions in the app's own views (``views``) and the
signals (``signals``). Everything here sits on the engine (``faroe_flask.core``)
and its parts; nothing below imports from here.

The public names are re-exported by ``faroe_flask`` itself (``from faroe_flask import Faroe``).
"""
