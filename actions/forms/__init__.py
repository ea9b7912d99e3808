"""Form workflows driven by declarative specs (``kumpel_forms/specs/*.yml``, package ``forms/``).

A form is mostly data: fields, prompts, validators and the summary live in one YAML file; the
code here is generic. ``engine`` is a pure state machine (no rasa import, unit-tested); ``actions``
wires it into Rasa's form loop and the knowledge service.
"""
