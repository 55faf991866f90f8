"""What the package's chat models declare to langchain-tests' standard suites."""

from __future__ import annotations


class TextOnly:
    """Text in, text out: no tool calling, structured output, images, or per-call model.

    The local models are small base models without a tool-calling format; the
    CoGenesis models write with them; the model is a file chosen at construction.
    """

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False


class StructuredByGrammar(TextOnly):
    """Text, and structured output: the local model writes JSON under a JSON-schema
    grammar (``with_structured_output``); still no tool calling."""

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True
