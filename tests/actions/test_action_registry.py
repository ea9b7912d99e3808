"""The action server serves exactly the custom actions the domain names: none missing, none stray."""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

from kumpel_forms.spec import all_forms

ROOT = Path(__file__).resolve().parents[2]


def test_the_action_server_serves_every_custom_action_of_the_domain_and_nothing_else() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    custom = {a for a in domain["actions"] if a.startswith(("action_", "validate_"))}
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == custom


def test_every_form_spec_gets_its_validation_action_without_code() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    assert {f"validate_{form}_form" for form in all_forms()} <= set(executor.actions)
