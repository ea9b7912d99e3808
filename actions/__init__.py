"""Kumpel action server: thin actions that turn knowledge-service answers into replies.

rasa-sdk imports every module of this package and registers each concrete Action subclass.
"""
