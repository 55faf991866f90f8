"""A structured reply cut off at max_tokens is an error, not a partial value."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.models.structured import WholeJsonParser, with_parser


def test_a_cut_off_reply_raises_and_a_whole_one_parses() -> None:
    parser = WholeJsonParser()
    whole = '{"setup": "Why?", "punchline": "Because."}'
    assert parser.parse(whole) == {"setup": "Why?", "punchline": "Because."}
    with pytest.raises(OutputParserException, match="max_tokens"):
        parser.parse('{"setup": "Why did the cat')
    # streamed chunks stay partial values, as LangChain's parser gives them
    chunks = list(parser.transform(iter(['{"setup": "Wh', 'y?"}'])))
    assert chunks[-1] == {"setup": "Why?"}


def test_include_raw_reports_the_cut_as_a_parsing_error() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage('{"setup": "Why did')]))
    out = with_parser(model, {"type": "object"}, include_raw=True).invoke("joke")
    assert out["parsed"] is None and isinstance(out["parsing_error"], OutputParserException)
    assert out["raw"].content == '{"setup": "Why did'
