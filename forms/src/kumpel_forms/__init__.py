"""Kumpel's forms as data: specs (``specs/*.yml``), strict German parsers and submission validation.

One source for the dialogue (the action server's form engine parses what a citizen types) and the
knowledge service (``validate_submission`` checks what the engine exports before anything is stored).
Only PyYAML and python-stdnum: no rasa, no web framework.
"""
