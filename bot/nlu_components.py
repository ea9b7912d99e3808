"""NLU components that extend Rasa 3.6 for Kumpel.

``RobustLogisticRegressionClassifier``: Rasa's ``LogisticRegressionClassifier`` raises on a
message without tokens (empty or whitespace-only text): the RegexFeaturizer then adds no
features, the feature matrix is narrower than the trained model expects, and the whole
message handling fails. Such a message is not understood, so it gets no intent and a
confidence of 0; the FallbackClassifier after it turns that into ``nlu_fallback`` and the bot
answers politely instead of failing.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

_NOT_UNDERSTOOD: dict[str, Any] = {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RobustLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Logistic regression intent classifier that treats unfeaturisable text as not understood."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Classify the messages; those without the full feature set get no intent."""
        expected_width = getattr(self.clf, "n_features_in_", None)
        classifiable = []
        for message in messages:
            if self._has_features(message) and (
                expected_width is None or self._create_X([message]).shape[1] == expected_width
            ):
                classifiable.append(message)
            else:
                message.set(INTENT, dict(_NOT_UNDERSTOOD), add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        if classifiable:
            super().process(classifiable)
        return messages

    @staticmethod
    def _has_features(message: Message) -> bool:
        from rasa.shared.nlu.constants import TEXT

        sparse = message.get_sparse_features(attribute=TEXT)[1]
        dense = message.get_dense_features(attribute=TEXT)[1]
        return sparse is not None or dense is not None
