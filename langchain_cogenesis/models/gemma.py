"""The Gemma family's default chat template, for GGUFs that carry none.

The bundled Gemma 3 270M is a base model: its GGUF metadata has no
``tokenizer.chat_template``. It still knows Gemma's turn markers, so it is driven
with the template below, which follows Gemma's own (the system text is folded
into the first user turn: Gemma has no system role). Every other model speaks
the template of its own GGUF (:mod:`langchain_cogenesis.models.templates`).
"""

from __future__ import annotations

from collections.abc import Mapping

GEMMA_TEMPLATE = (
    r"{{ bos_token }}{% set ns = namespace(system='', has_user=false) %}"
    r"{% for message in messages %}{% if message['role'] == 'system' %}"
    r"{% set ns.system = ns.system + ('\n\n' if ns.system else '') + (message['content'] or '') %}"
    r"{% elif message['role'] == 'user' %}{% set ns.has_user = true %}{% endif %}{% endfor %}"
    r"{% if ns.system and not ns.has_user %}"
    r"{{ '<start_of_turn>user\n' + ns.system + '<end_of_turn>\n' }}{% set ns.system = '' %}"
    r"{% endif %}"
    r"{% for message in messages %}{% if message['role'] != 'system' %}"
    r"{% set content = message['content'] or '' %}"
    r"{% if message['role'] == 'assistant' %}"
    # an empty closing assistant turn is an open one: llama.cpp's server appends it
    # in place of add_generation_prompt when it serves a template from a config file
    r"{% if loop.last and not content %}{{ '<start_of_turn>model\n' }}"
    r"{% else %}{{ '<start_of_turn>model\n' + content + '<end_of_turn>\n' }}{% endif %}"
    r"{% else %}{% if ns.system %}{% set content = ns.system + '\n\n' + content %}"
    r"{% set ns.system = '' %}{% endif %}"
    r"{{ '<start_of_turn>user\n' + content + '<end_of_turn>\n' }}{% endif %}"
    r"{% endif %}{% endfor %}"
    r"{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
"""Gemma's turn format as a Jinja chat template (system folded into the first user turn)."""

GEMMA_BOS = "<bos>"
GEMMA_EOS = "<eos>"
GEMMA_TURN_END = "<end_of_turn>"


def is_gemma(metadata: Mapping[str, str]) -> bool:
    """Whether GGUF metadata describes a Gemma-family model."""
    return metadata.get("general.architecture", "").startswith("gemma")
