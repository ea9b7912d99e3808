"""Form submissions from the chat: stored exactly once, listed and exported by staff, deleted on expiry.

``router`` holds the HTTP API (docs/contracts.md), ``store`` the database logic, ``estimate`` the
dog-tax estimate from the knowledge base's rates, ``retention`` the clean-up entry point for cron.
"""
