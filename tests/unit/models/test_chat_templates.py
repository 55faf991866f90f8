"""Chat templates: which one a model gets, and what it renders (no weights loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_cogenesis.errors import LocalModelError
from langchain_cogenesis.models.gemma import GEMMA_TEMPLATE
from langchain_cogenesis.models.templates import (
    ChatTemplate,
    chat_template_of,
    default_chat_template,
    fold_system,
)
from langchain_cogenesis.prompts import TURN_END, chat_text

REPO = Path(__file__).resolve().parents[3]

# SmolLM2-135M-Instruct's template as its GGUF carries it (ChatML with a default system turn)
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# a template that rejects the system role, as Mistral's and Gemma 2's do
NO_SYSTEM_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% elif message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}"
    "{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)
CONVERSATION = [
    SystemMessage("Be kind."),
    HumanMessage("Hello"),
    AIMessage("Hi"),
    HumanMessage("Again"),
]


def smollm2_like(**extra: object) -> ChatTemplate:
    return ChatTemplate.from_metadata(
        {"general.architecture": "llama", "tokenizer.chat_template": SMOLLM2_TEMPLATE},
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        end_tokens=["<|endoftext|>"],
        **extra,  # type: ignore[arg-type]
    )


def test_the_default_renders_the_bundled_models_format_exactly() -> None:
    # the text the bundled Gemma model has always been given (system folded in)
    assert chat_text(CONVERSATION) == (
        "<start_of_turn>user\nBe kind.\n\nHello<end_of_turn>\n"
        "<start_of_turn>model\nHi<end_of_turn>\n"
        "<start_of_turn>user\nAgain<end_of_turn>\n"
        "<start_of_turn>model\n"
    )
    template = default_chat_template()
    assert template.turn_end == TURN_END == "<end_of_turn>"
    assert template.stop == ("<end_of_turn>", "<eos>")


def test_a_gguf_template_wins_and_chatml_keeps_its_turn_markers() -> None:
    template = smollm2_like()
    assert template.name == "gguf"
    text = template.render(CONVERSATION)
    # the BOS of this vocabulary is ChatML's turn marker: it must not be cut off
    assert text.startswith("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHello")
    assert text.endswith("<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n")
    assert "<start_of_turn>" not in text
    assert template.supports_system
    assert template.turn_end == "<|im_end|>"
    assert template.stop == ("<|im_end|>", "<|endoftext|>")
    assert chat_text(CONVERSATION, template) == text


def test_a_template_without_a_system_role_gets_it_folded_into_the_first_user_turn() -> None:
    template = ChatTemplate(NO_SYSTEM_TEMPLATE, bos_token="<s>", eos_token="</s>")
    assert not template.supports_system
    assert template.render(CONVERSATION) == (
        "[INST] Be kind.\n\nHello [/INST]Hi</s>[INST] Again [/INST]"
    )  # the template's own BOS is left to the tokenizer
    assert template.turn_end == "</s>"


def test_fold_system_without_a_user_turn_makes_one() -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}]
    folded = fold_system(messages)
    assert folded == [{"role": "user", "content": "S"}, {"role": "assistant", "content": "A"}]


def test_gemma_base_models_without_a_template_get_the_gemma_default() -> None:
    template = ChatTemplate.from_metadata(
        {"general.architecture": "gemma3"},
        bos_token="<bos>",
        eos_token="<eos>",
        end_tokens=["<end_of_turn>"],
    )
    assert template.name == "gemma (default)"
    assert template.render([HumanMessage("Hi")]) == chat_text([HumanMessage("Hi")])


def test_other_models_without_a_template_are_a_typed_error_that_says_what_to_pass() -> None:
    with pytest.raises(LocalModelError, match="chat_template="):
        ChatTemplate.from_metadata(
            {"general.architecture": "llama"}, bos_token="<s>", eos_token="</s>", model="m.gguf"
        )


def test_overrides_by_name_or_jinja_beat_the_gguf() -> None:
    chatml = smollm2_like(override="chatml")
    assert chatml.name == "chatml"
    expected = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert chatml.render([HumanMessage("Hi")]) == expected
    gemma = smollm2_like(override="gemma")
    assert gemma.render([HumanMessage("Hi")]).startswith("<start_of_turn>user\nHi")
    custom = smollm2_like(override="{% for m in messages %}<<{{ m['content'] }}>>{% endfor %}")
    assert custom.name == "override" and custom.render([HumanMessage("Hi")]) == "<<Hi>>"
    with pytest.raises(LocalModelError, match="chatml"):
        smollm2_like(override="vicuna-ish")


def test_the_gemma_default_serves_llama_cpp_servers_config_route() -> None:
    """llama_cpp.server appends an empty assistant turn instead of add_generation_prompt."""
    from llama_cpp.llama_chat_format import hf_tokenizer_config_to_chat_formatter

    config = default_chat_template().tokenizer_config()
    assert config["chat_template"] == GEMMA_TEMPLATE
    served = hf_tokenizer_config_to_chat_formatter(config)(
        messages=[{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    )
    assert served.prompt == "<bos><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n"


def test_stop_ids_tokenize_every_end_of_turn_text() -> None:
    vocabulary = {"<|im_end|>": [2], "<|endoftext|>": [0]}
    assert smollm2_like().stop_ids(lambda text: vocabulary[text]) == [2, 0]


def test_a_scorer_with_a_template_is_used_and_one_without_gets_the_default() -> None:
    class WithTemplate:
        def chat_template(self) -> ChatTemplate:
            return smollm2_like()

    assert chat_template_of(WithTemplate()).turn_end == "<|im_end|>"
    assert chat_template_of(object()) is default_chat_template()


def test_tool_messages_are_refused_with_a_clear_error() -> None:
    from langchain_core.messages import ToolMessage

    with pytest.raises(ValueError, match="system, user and assistant"):
        default_chat_template().render([ToolMessage("x", tool_call_id="1")])


def test_no_turn_markers_are_written_by_hand_outside_the_gemma_default() -> None:
    package = REPO / "langchain_cogenesis"
    allowed = {
        package / "models" / "gemma.py",
        # a tokenizer probe string (fusion/tokenizer.py), compared, never a prompt
        package / "fusion" / "tokenizer.py",
    }
    offenders = [
        str(path.relative_to(REPO))
        for folder in (package, REPO / "graphs")
        for path in folder.rglob("*.py")
        if path not in allowed
        and any(
            marker in path.read_text(encoding="utf-8")
            for marker in ("<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>")
        )
    ]
    assert offenders == []
