"""Split one instruction into a public part and a private part, on the device.

Rules first, as in the paper's data (``general part: personal part``) and by
sentence: a sentence that the scanner flags is private. When the rules leave no
clean public text, the local model proposes a generic rewrite, which must itself
pass the scanner. Whatever this returns, the egress guard checks it again.
"""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from langchain_cogenesis.privacy.detectors import PrivacyScanner
from langchain_cogenesis.schema import ContextAwareInstruction, TaskKind

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
GENERIC_REWRITE_PROMPT = (
    "Rewrite this writing task as one short, generic instruction. Remove every name, "
    "place, date, number and personal detail; keep only the kind of text and its "
    "topic.\n\nTask: {task}\n\nGeneric instruction:"
)
FALLBACK_PUBLIC = "Write the requested text in a clear, engaging style"


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" :;-")


def rule_split(text: str, scanner: PrivacyScanner) -> tuple[str, str]:
    """The rules: the text before the first colon is public; otherwise clean sentences."""
    head, colon, tail = text.partition(":")
    if colon and _clean(head) and not scanner.scan(head):
        return _clean(head), _clean(tail)
    public: list[str] = []
    private: list[str] = []
    for sentence in _SENTENCE.split(text.strip()):
        (private if scanner.scan(sentence) else public).append(sentence)
    return _clean(" ".join(public)), _clean(" ".join(private))


def propose_public(text: str, local_model: BaseChatModel, scanner: PrivacyScanner) -> str:
    """The local model's generic rewrite, or ``""`` when it is empty or not clean."""
    reply = local_model.invoke([HumanMessage(GENERIC_REWRITE_PROMPT.format(task=text))])
    lines = [line for line in reply.text.strip().splitlines() if line.strip()]
    proposal = _clean(lines[0]) if lines else ""
    if not proposal or len(proposal) > max(len(text), 40) or scanner.scan(proposal):
        return ""
    return proposal


def split_instruction(
    text: str,
    scanner: PrivacyScanner,
    *,
    local_model: BaseChatModel | None = None,
    kind: TaskKind = "context-aware",
) -> ContextAwareInstruction:
    """Propose the public and private parts of ``text``.

    The whole of ``text`` is kept: what is not in the public part is in the private
    part, so the local model still sees everything.
    """
    public, private = rule_split(text, scanner)
    if not public and local_model is not None:
        public = propose_public(text, local_model, scanner)
        private = _clean(text)
    if not public:
        public, private = FALLBACK_PUBLIC, _clean(text)
    return ContextAwareInstruction(
        public_instruction=public, private_instruction=private, kind=kind
    )
