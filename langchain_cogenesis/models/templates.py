"""Each model speaks its own chat template, read from its GGUF metadata.

A :class:`ChatTemplate` turns chat messages into the text a model was trained on
and knows where the model's turn ends. It is what the local chat model, the fusion
prompts, the fine-tuning examples and token counting all use, so one model is
always prompted the same way. The template comes from, in order:

1. an override (``chat_template=`` a Jinja template, or a name: ``"gemma"``,
   ``"chatml"``);
2. the GGUF's ``tokenizer.chat_template`` (llama.cpp's Jinja chat formatter renders it);
3. the family's default, for a family whose base models ship none (Gemma: the
   bundled Gemma 3 270M, :mod:`langchain_cogenesis.models.gemma`).

A model without any is a :class:`~langchain_cogenesis.errors.LocalModelError` that
says how to pass one. Templates that reject the system role get the system text
folded into the first user turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from langchain_cogenesis.errors import LocalModelError
from langchain_cogenesis.models import gemma

if TYPE_CHECKING:
    from llama_cpp import Llama

ChatMessages = Sequence[BaseMessage] | Sequence[Mapping[str, str]]

_ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant"}
_ROLES["assistant"] = "assistant"
_PROBE_SYSTEM = "\u27e8system probe\u27e9"
_PROBE_USER = "\u27e8user probe\u27e9"
_PROBE_ANSWER = "\u27e8answer probe\u27e9"


def _chatml_template() -> str:
    from llama_cpp.llama_chat_format import CHATML_CHAT_TEMPLATE

    return str(CHATML_CHAT_TEMPLATE)


NAMED_TEMPLATES: dict[str, Callable[[], str]] = {
    "gemma": lambda: gemma.GEMMA_TEMPLATE,
    "chatml": _chatml_template,
}
"""Templates an override may name instead of spelling out the Jinja."""


def role_messages(messages: ChatMessages) -> list[dict[str, str]]:
    """``{"role", "content"}`` dicts of LangChain messages (or such dicts, checked)."""
    converted = []
    for message in messages:
        if isinstance(message, BaseMessage):
            kind, text = message.type, str(message.text)
        else:
            kind, text = message["role"], message.get("content") or ""
        role = _ROLES.get(kind)
        if role is None:
            raise ValueError(
                f"A chat template takes system, user and assistant messages, not {kind!r}."
            )
        converted.append({"role": role, "content": text})
    return converted


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """System text prepended to the first user turn (or a user turn of its own)."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for item in rest:
        if item["role"] == "user":
            item["content"] = f"{system}\n\n{item['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


class ChatTemplate:
    """A model's chat template: messages in, prompt text out, and its turn's end.

    Key init args:
        source: the Jinja template (Hugging Face / GGUF ``chat_template`` dialect).
        bos_token, eos_token: the texts the template may insert.
        end_tokens: texts of the tokens that end the model's turn (end-of-turn, eos).
        name: where it came from, for messages and traces.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.models.templates import chat_template_for

            template = chat_template_for(model_path)
            prompt = template.render(messages)  # ends where the model's turn starts
            template.turn_end  # the marker that closes the model's turn
    """

    def __init__(
        self,
        source: str,
        *,
        bos_token: str = "",
        eos_token: str = "",
        end_tokens: Sequence[str] = (),
        name: str = "custom",
    ) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.name = name
        self._writes_bos = bool(bos_token) and "bos_token" in source
        self._formatters = {
            flag: Jinja2ChatFormatter(source, eos_token, bos_token, add_generation_prompt=flag)
            for flag in (True, False)
        }
        self.supports_system = self._probe_system()
        ends = [text for text in (*end_tokens, eos_token) if text]
        self.turn_end = self._probe_turn_end(ends)
        self.stop: tuple[str, ...] = tuple(dict.fromkeys([self.turn_end, *ends]))
        """Texts that end the model's turn, the turn's own marker first."""

    def __repr__(self) -> str:
        return f"ChatTemplate(name={self.name!r}, turn_end={self.turn_end!r})"

    def _render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        formatter = self._formatters[add_generation_prompt]
        return str(formatter(messages=messages).prompt)  # type: ignore[arg-type]

    def _probe_system(self) -> bool:
        probe = [
            {"role": "system", "content": _PROBE_SYSTEM},
            {"role": "user", "content": _PROBE_USER},
        ]
        try:
            return _PROBE_SYSTEM in self._render(probe, True)
        except Exception:  # a template may raise_exception() on the system role
            return False

    def _probe_turn_end(self, ends: list[str]) -> str:
        probe = [
            {"role": "user", "content": _PROBE_USER},
            {"role": "assistant", "content": _PROBE_ANSWER},
        ]
        try:
            after = self._render(probe, False).split(_PROBE_ANSWER, 1)[1]
        except Exception:
            after = ""
        found = [(after.find(text), text) for text in ends if text in after]
        return min(found)[1] if found else (ends[0] if ends else "")

    def messages_for(self, messages: ChatMessages) -> list[dict[str, str]]:
        """Role dicts as this template takes them (system folded where it has no role)."""
        converted = role_messages(messages)
        return converted if self.supports_system else fold_system(converted)

    def render(self, messages: ChatMessages, *, add_generation_prompt: bool = True) -> str:
        """The prompt text of ``messages``; with ``add_generation_prompt`` it ends where
        the model's turn starts. A leading BOS is left out: tokenize with
        ``add_bos=True`` and the model adds its own when it wants one."""
        text = self._render(self.messages_for(messages), add_generation_prompt)
        # only a BOS the template itself writes (ChatML's BOS is its turn marker)
        if self._writes_bos and text.startswith(self.bos_token):
            text = text[len(self.bos_token) :]
        return text

    def stop_ids(self, tokenize: Callable[[str], list[int]]) -> list[int]:
        """Token ids of :attr:`stop` by ``tokenize`` (special tokens parsed)."""
        return [token for text in self.stop for token in tokenize(text)]

    def tokenizer_config(self) -> dict[str, str]:
        """The template as a Hugging Face ``tokenizer_config.json`` (llama.cpp's server
        serves a template from such a file: ``--chat_format hf-tokenizer-config``)."""
        return {
            "chat_template": self.source,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        }

    @classmethod
    def from_metadata(
        cls,
        metadata: Mapping[str, str],
        *,
        bos_token: str,
        eos_token: str,
        end_tokens: Sequence[str] = (),
        override: str | None = None,
        model: str = "this model",
    ) -> ChatTemplate:
        """Select the template of a GGUF from its metadata (see the module's order)."""
        tokens = {"bos_token": bos_token, "eos_token": eos_token, "end_tokens": end_tokens}
        if override:
            if override in NAMED_TEMPLATES:
                return cls(NAMED_TEMPLATES[override](), name=override, **tokens)  # type: ignore[arg-type]
            if "{{" not in override and "{%" not in override:
                raise LocalModelError(
                    f"Unknown chat template {override!r}. Pass a Jinja chat template or one "
                    f"of {', '.join(sorted(NAMED_TEMPLATES))}."
                )
            return cls(override, name="override", **tokens)  # type: ignore[arg-type]
        source = metadata.get("tokenizer.chat_template")
        if source:
            return cls(source, name="gguf", **tokens)  # type: ignore[arg-type]
        if gemma.is_gemma(metadata):
            return cls(gemma.GEMMA_TEMPLATE, name="gemma (default)", **tokens)  # type: ignore[arg-type]
        raise LocalModelError(
            f"{model} has no chat template in its GGUF metadata. Pass chat_template= a "
            "Jinja chat template (or chat_format='chatml' or 'gemma') for it."
        )

    @classmethod
    def from_llama(cls, llama: Llama, override: str | None = None) -> ChatTemplate:
        """The template of a loaded llama.cpp model (its metadata and special tokens)."""
        model = llama._model

        def text(token: int) -> str:
            return model.token_get_text(token) if token >= 0 else ""

        return cls.from_metadata(
            llama.metadata,
            bos_token=text(model.token_bos()),
            eos_token=text(model.token_eos()),
            end_tokens=[text(model.token_eot())],
            override=override,
            model=str(llama.model_path),
        )


@lru_cache(maxsize=16)
def chat_template_for(model_path: Path | str, override: str | None = None) -> ChatTemplate:
    """The chat template of the GGUF at ``model_path`` (its vocabulary and metadata
    are read once; the weights are not loaded)."""
    from langchain_cogenesis.models.loader import read_vocabulary

    return ChatTemplate.from_llama(read_vocabulary(Path(model_path)), override)


@lru_cache(maxsize=1)
def default_chat_template() -> ChatTemplate:
    """The bundled model's template (Gemma's default), for callers that name no model."""
    return ChatTemplate(
        gemma.GEMMA_TEMPLATE,
        bos_token=gemma.GEMMA_BOS,
        eos_token=gemma.GEMMA_EOS,
        end_tokens=[gemma.GEMMA_TURN_END],
        name="gemma (default)",
    )


def chat_template_of(model: Any) -> ChatTemplate:
    """The template of a model or token scorer that has one (a ``chat_template``
    attribute or method), else :func:`default_chat_template`."""
    found = getattr(model, "chat_template", None)
    if callable(found):
        found = found()
    return found if isinstance(found, ChatTemplate) else default_chat_template()
