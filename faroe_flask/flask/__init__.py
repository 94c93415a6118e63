"""The Flask integration: the extension, its configuration, the endpoint blueprint, the email
senders and the ``flask faroe`` commands. Everything here sits on the engine (``faroe_flask.core``)
and its parts; nothing below imports from here.

The public names are re-exported by ``faroe_flask`` itself (``from faroe_flask import Faroe``).
"""
