"""Kumpel knowledge service: knowledge base, search, opening hours and answers for the bot."""

__version__ = "0.1.0"
