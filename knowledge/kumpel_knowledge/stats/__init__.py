"""Counts for the staff dashboard: what the bot answered, forms started and cancelled; never conversation text."""
