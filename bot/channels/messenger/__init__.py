"""What every messenger channel shares: rendering, numbered choices, identity, signatures, inbound handling.

Each channel module (``bot/channels/telegram.py``, ``whatsapp.py``, ...) verifies its platform's
signature, parses the platform's update and then calls :func:`handling.handle_inbound`, so the input
rules, numbered replies and hashed conversation ids are the same on every channel. Replies go through
:func:`rendering.render` with the channel's :class:`rendering.ChannelStyle`.
"""
