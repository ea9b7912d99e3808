"""NLU components that extend Rasa 3.6 for Kumpel.

``RobustLogisticRegressionClassifier``: Rasa's ``LogisticRegressionClassifier`` raises on a
message without tokens (empty or whitespace-only text): the RegexFeaturizer then adds no
features, the feature matrix is narrower than the trained model expects, and the whole
message handling fails. Such a message is not understood, so it gets no intent and a
confidence of 0; the FallbackClassifier after it turns that into ``nlu_fallback`` and the bot
answers politely instead of failing.

``SmallTalkFamiliarity``: tells real small talk from a request that the classifier put on a
small-talk intent (see its docstring).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer

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
        sparse = message.get_sparse_features(attribute=TEXT)[1]
        dense = message.get_dense_features(attribute=TEXT)[1]
        return sparse is not None or dense is not None


# ---------------------------------------------------------------- small talk that is no small talk
FAMILIARITY_KEY = "small_talk_familiarity"


def _folded(text: str) -> str:
    """Lower case words only: "Danke!!" and "danke" are the same phrase."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SmallTalkFamiliarity(GraphComponent):
    """How much a message looks like the training examples of the small-talk intent it was given.

    The classifier must put every message somewhere, and a short request for a service can land on
    small talk: "Ich will einen Imbiss aufmachen" became ``stop`` (0.91), "abendkurs buchen" too.
    Its confidence does not tell such a message from real small talk, but its likeness to the
    intent's own examples does: real small talk is phrased like them ("Passt", "Ich bin dann mal
    weg"), a request for a service is not. This component adds ``small_talk_familiarity`` (the best
    character n-gram TF-IDF cosine to the predicted intent's examples, the n-gram weights taken over
    all training examples so that "ich will" counts little) to the parse data of a message whose
    intent is one of ``intents``; the small-talk action (actions/small_talk.py) asks the knowledge
    base about an unfamiliar one before it answers as small talk.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intents": ["affirm", "deny", "stop", "goodbye", "thank", "bot_challenge", "help"]}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: dict[str, list[str]] | None = None,
        corpus: list[str] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._examples: dict[str, list[str]] = examples or {}
        self._corpus: list[str] = corpus or []
        self._vectorizer: TfidfVectorizer | None = None
        self._matrices: dict[str, Any] = {}
        self._fit()

    def _fit(self) -> None:
        if not self._corpus or not self._examples:
            return
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self._vectorizer.fit(self._corpus)
        self._matrices = {
            intent: self._vectorizer.transform(texts) for intent, texts in self._examples.items() if texts
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SmallTalkFamiliarity:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        wanted = set(self._config["intents"])
        examples: dict[str, list[str]] = {intent: [] for intent in sorted(wanted)}
        corpus: list[str] = []
        for message in training_data.intent_examples:
            text = _folded(str(message.get(TEXT) or ""))
            if not text:
                continue
            corpus.append(text)
            if message.get(INTENT) in wanted:
                examples[message.get(INTENT)].append(text)
        self._examples, self._corpus = examples, corpus
        self._fit()
        with self._model_storage.write_to(self._resource) as model_dir:
            (model_dir / "small_talk.json").write_text(
                json.dumps({"examples": examples, "corpus": corpus}, ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SmallTalkFamiliarity:
        try:
            with model_storage.read_from(resource) as model_dir:
                data = json.loads((model_dir / "small_talk.json").read_text(encoding="utf-8"))
        except (ValueError, OSError):
            # An untrained component adds nothing; the action then treats the message as small talk.
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, data["examples"], data["corpus"])

    def familiarity(self, text: str, intent: str) -> float | None:
        """Best cosine of ``text`` to ``intent``'s examples; None when the intent has none."""
        matrix = self._matrices.get(intent)
        folded = _folded(text)
        if matrix is None or self._vectorizer is None or not folded:
            return None
        vector = self._vectorizer.transform([folded])
        return float((matrix @ vector.T).max())

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if not isinstance(intent, str) or intent not in self._config["intents"]:
                continue
            score = self.familiarity(str(message.get(TEXT) or ""), intent)
            if score is not None:
                message.set(FAMILIARITY_KEY, round(score, 3), add_to_output=True)
        return messages
