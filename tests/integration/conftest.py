"""A running Kumpel for conversation tests: the real trained bot, action server and knowledge service.

One stack per test session on free ports, with its own databases in a temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation, make_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with make_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
def conversation(stack: Stack) -> Conversation:
    return Conversation(stack)
