"""Kumpel's launcher (``kumpel-stack run``), terminal chat (``kumpel-chat``) and the test stack.

Standard library only: both venvs install this package, the Rasa one (Python 3.10) and the
knowledge one (Python 3.11).
"""
