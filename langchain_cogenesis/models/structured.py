"""Structured output from a local llama.cpp model: a JSON-schema grammar on sampling.

Every token the model samples must keep the text a prefix of a JSON value that the
schema accepts (llama.cpp's grammar sampler), so the reply parses, even from a small
model. Nothing about it involves the cloud: the schema, the prompt and the reply stay
on the device.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, ClassVar

from langchain_core.exceptions import OutputParserException
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import Generation
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel

from langchain_cogenesis.errors import MissingExtra


def is_pydantic_class(schema: Any) -> bool:
    """Whether ``schema`` is a pydantic model class (v2, or v1 through ``pydantic.v1``)."""
    from pydantic import v1

    return isinstance(schema, type) and issubclass(schema, (BaseModel, v1.BaseModel))


def json_schema_of(schema: Any) -> dict[str, Any]:
    """The JSON schema of a pydantic model (v2 or v1), a TypedDict or a JSON-schema dict."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    if is_pydantic_class(schema):
        return dict(schema.schema())
    if isinstance(schema, dict):
        return dict(schema)  # a JSON schema already
    return dict(convert_to_json_schema(schema))


def _shown_schema(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    """LangChain's conversion of ``schema``, which tracers and the standard tests
    expect; the plain JSON schema where LangChain cannot convert it (an untitled one)."""
    try:
        return dict(convert_to_json_schema(schema))
    except (ValueError, TypeError, KeyError):
        return found


METHODS = ("json_schema", "function_calling", "json_mode")
"""``function_calling`` is served as ``json_schema``: no tool is called, the grammar
gives the same parsed value (so code written for ChatOpenAI runs unchanged)."""


def check_options(model: str, method: str | None, options: dict[str, Any]) -> str:
    """The method of a ``with_structured_output`` call (``json_schema`` by default;
    ``strict`` is accepted: a grammar is always strict)."""
    from langchain_cogenesis.errors import ConfigurationError

    options.pop("strict", None)
    if options:
        raise ConfigurationError(
            f"{model}.with_structured_output got {', '.join(options)}: it takes the schema, "
            "method, strict and include_raw."
        )
    chosen = method or "json_schema"
    if chosen not in METHODS:
        raise ConfigurationError(
            f"{model}.with_structured_output(method={chosen!r}): use method='json_schema' "
            "(a grammar on the local model), 'function_calling' (served the same way) or "
            "'json_mode'."
        )
    return chosen


def json_grammar(schema: dict[str, Any]) -> Any:
    """A ``llama_cpp.LlamaGrammar`` accepting exactly the JSON values ``schema`` allows."""
    with MissingExtra.if_absent("local", "Structured output from a local model"):
        from llama_cpp.llama_grammar import LlamaGrammar
    return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


class WholeJsonParser(JsonOutputParser):
    """LangChain's JSON parser, except that a finished reply must be whole JSON: one
    cut off at ``max_tokens`` is an error, not the partial dict of what was written
    (streamed chunks are still partial values, as they come)."""

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """The parsed value; a finished reply that is not whole JSON raises."""
        if partial:
            return super().parse_result(result, partial=True)
        text = result[0].text.strip()
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise OutputParserException(
                f"The reply is not whole JSON ({len(text)} characters): it was probably cut "
                "off at max_tokens; give the model more tokens for structured output."
            ) from None


def with_parser(model: Runnable[Any, Any], schema: Any, *, include_raw: bool) -> Runnable[Any, Any]:
    """``model`` followed by the parser of ``schema``; with ``include_raw``, a dict of
    the raw message, the parsed value and the parsing error (``None`` when it parsed)."""
    parser: Runnable[Any, Any]
    if is_pydantic_class(schema):
        parser = PydanticOutputParser(pydantic_object=schema)
    else:
        parser = WholeJsonParser()
    if not include_raw:
        return model | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=model) | parsed.with_fallbacks([unparsed], exception_key="parsing_error")


def structured(
    model: Runnable[Any, Any],
    name: str,
    schema: Any,
    *,
    method: str | None,
    include_raw: bool,
    options: dict[str, Any],
    grammar_in_call: bool,
) -> Runnable[Any, Any]:
    """``with_structured_output`` of the package's chat models: ``model`` bound to the
    schema's grammar (``grammar=``, or ``structured_schema=`` for a model that passes
    the schema on to its local writer), then the parser."""
    chosen = check_options(name, method, options)
    if schema is None:  # json_mode without a schema: any JSON object
        schema = {"type": "object"}
    found = json_schema_of(schema)
    bound = model.bind(
        **({"grammar": json_grammar(found)} if grammar_in_call else {"structured_schema": found}),
        # what tracers and callbacks show, in LangChain's own form of the schema
        ls_structured_output_format={
            "kwargs": {"method": chosen},
            "schema": _shown_schema(schema, found),
        },
    )
    return with_parser(bound, schema, include_raw=include_raw)


class GrammarStructuredOutput:
    """``with_structured_output`` and ``bind_tools`` of the package's chat models.

    Structured output: replies parse as ``schema`` (a pydantic model, a TypedDict or a
    JSON schema; ``include_raw``; ``method="json_mode"`` without a schema for any JSON
    object (with one, the schema's grammar holds as for ``json_schema``);
    ``"function_calling"`` is served the same way), written by a local llama.cpp model
    under a JSON-schema grammar. Tools: refused with
    :class:`~langchain_cogenesis.errors.ToolsNotSupported`, which says what to use.
    """

    grammar_in_call: ClassVar[bool] = True
    """The model's own sampler runs the grammar (``grammar=``); ``False``: the model
    hands the schema on to its local writer (``structured_schema=``)."""

    def with_structured_output(
        self,
        schema: Any = None,
        *,
        method: str | None = None,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[Any, Any]:
        """Replies that parse as ``schema``, under a JSON-schema grammar (see the class)."""
        return structured(
            self,  # type: ignore[arg-type]
            type(self).__name__,
            schema,
            method=method,
            include_raw=include_raw,
            options=kwargs,
            grammar_in_call=self.grammar_in_call,
        )

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, Any]:
        """Not offered: see :class:`~langchain_cogenesis.errors.ToolsNotSupported`."""
        from langchain_cogenesis.errors import ToolsNotSupported

        raise ToolsNotSupported(type(self).__name__)
