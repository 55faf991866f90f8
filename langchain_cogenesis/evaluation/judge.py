"""LLM-as-judge (paper Table 9): three ratings from 1 to 10, parsed from ``[[N]]``.

The judge reads the user's profile and writing history for two of the three prompts,
and the question and answer of all three may carry private context too. A judge behind
a cloud endpoint (:meth:`Judge.through`) goes through the
:class:`~langchain_cogenesis.privacy.EgressGuard` like any other payload: scanned with
the user's own detectors (profile, private details, logs, writing history, the private
part of the task), decided by the guard and written to the audit log. Private context
reaches a cloud judge only with an explicit opt-in (``allow_private_context=True``,
``cogenesis eval --allow-private-judge``), recorded as ``sent_with_private_context``;
otherwise the request is refused with :class:`~langchain_cogenesis.errors.PrivateJudgeRefused`.
Judge synthetic or fictional users, or users who agreed, with a cloud judge; anyone
else with a local one (:meth:`Judge.of`, or :meth:`Judge.with_grammar`).

A small model asked for Table 9's verdict usually continues the prompt instead of
ending with ``[[N]]``. :meth:`Judge.with_grammar` constrains an in-process llama.cpp
model with a grammar (:func:`rating_grammar`) so that every call ends in a rating;
:func:`known_pair_accuracy` measures whether the ratings mean anything, on pairs
whose order is known (a reference against a truncated or shuffled copy of itself).
:meth:`Judge.with_expected_rating` reads the whole distribution of the rating's digit
instead (the expected rating), which ties far less often on a small model.

Size: a little over 400 lines, because the judge, its guarded variant and the checks of
its reliability (win/tie/lose, known-pair accuracy) are read and changed together.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.errors import PrivacyViolation, PrivateJudgeRefused
from langchain_cogenesis.schema import ContextAwareInstruction, UserContext

if TYPE_CHECKING:
    from llama_cpp import Llama

    from langchain_cogenesis.evaluation.likelihood import ReferenceLikelihood
    from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
    from langchain_cogenesis.privacy.egress.decision import PolicyRule

Aspect = Literal["overall", "personalization", "overall_without_profile"]
ASPECTS: tuple[Aspect, ...] = ("overall", "personalization", "overall_without_profile")
_TEMPLATES: dict[Aspect, str] = {
    "overall": prompts.JUDGE_OVERALL_WITH_PROFILE,
    "personalization": prompts.JUDGE_PERSONALIZATION,
    "overall_without_profile": prompts.JUDGE_OVERALL_WITHOUT_PROFILE,
}
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_rating(text: str) -> float | None:
    """The last ``[[N]]`` in ``text`` with 1 <= N <= 10; ``None`` when there is none."""
    for match in reversed(_RATING.findall(text)):
        value = float(match)
        if 1 <= value <= 10:
            return value
    return None


def rating_grammar(explanation_chars: int = 0) -> str:
    """A llama.cpp grammar (GBNF) whose every sentence ends in ``Rating: [[N]]``, N in 1-10.

    With ``explanation_chars`` the model may first write a one-line explanation of
    at most that many characters (Table 9 asks for one); with 0 it rates at once,
    which is what a model too small to explain should do.
    """
    if explanation_chars < 0:
        raise ValueError("explanation_chars cannot be negative")
    rating = 'rating ::= "Rating: [[" ([1-9] | "10") "]]"\n'
    if not explanation_chars:
        return "root ::= rating\n" + rating
    return (
        'root ::= explanation "\\n" rating\n'
        f"explanation ::= [^\\n\\[\\]]{{1,{explanation_chars}}}\n" + rating
    )


@dataclass(frozen=True)
class Judgement:
    """One rating and the judge's words."""

    aspect: Aspect
    rating: float | None
    """``None`` when no attempt gave a rating."""
    explanation: str
    attempts: int


def profile_text(context: UserContext) -> tuple[str, str]:
    """The profile block and the writing-history block of a judge prompt."""
    lines = [context.profile.as_text(), *context.private_details, *context.activity_logs]
    profile = "\n".join(f"- {line}" for line in lines if line) or "(none)"
    history = "\n\n".join(f"### {w.title}\n{w.text}" for w in context.writing_history) or "(none)"
    return profile, history


def judge_scanner(
    context: UserContext | None, instruction: ContextAwareInstruction | None = None
) -> PrivacyScanner:
    """The detectors of a judge request: everything private the judge prompt may carry.

    The profile, private details, activity logs and writing history of ``context`` and
    the private part of ``instruction``; the public part is what the user chose to
    share, and the package's own prompt text is trusted.
    """
    from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner

    private: list[str] = []
    names: list[str] = []
    if context is not None:
        private += [context.profile.as_text(), *context.private_details, *context.activity_logs]
        private += [writing.text for writing in context.writing_history]
        names += [context.profile.name] if context.profile.name else []
    if instruction is not None:
        private.append(instruction.private_instruction)
    return PrivacyScanner(
        private,
        names=names,
        public_text=instruction.public_instruction if instruction is not None else "",
        trusted_texts=[*prompts.TRUSTED_TEXT, *(_fixed_text(t) for t in _TEMPLATES.values())],
    )


def _fixed_text(template: str) -> str:
    """The longest fixed stretch of a judge template (its instruction), trusted text."""
    return max(re.split(r"\{[a-z_]+\}", template), key=len).strip()


class Judge:
    """Rates answers with the paper's three judge prompts.

    Key init args:
        ask: sends one prompt and returns the reply (see :meth:`of` and :meth:`through`).
        max_attempts: tries per rating when the reply has no ``[[N]]`` (bounded retry).
    """

    def __init__(self, ask: Callable[[list[BaseMessage], int], str], *, max_attempts: int = 3):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.ask = ask
        self.max_attempts = max_attempts

    @classmethod
    def of(cls, model: BaseChatModel, **kwargs: Any) -> Judge:
        """A judge from a chat model that runs on the device (nothing is scanned)."""

        def ask(messages: list[BaseMessage], attempt: int) -> str:
            return str(model.invoke(messages).text)

        return cls(ask, **kwargs)

    @classmethod
    def with_grammar(
        cls,
        llama: Llama,
        *,
        render: Callable[[list[BaseMessage]], str] = prompts.chat_text,
        explanation_chars: int = 0,
        **kwargs: Any,
    ) -> Judge:
        """A judge on an in-process llama.cpp model whose reply a grammar constrains.

        Every reply ends in ``Rating: [[N]]`` (:func:`rating_grammar`), decoded
        greedily, so every call yields a rating. Nothing leaves the device.

        Args:
            llama: the loaded ``llama_cpp.Llama``.
            render: messages → prompt text in the model's chat format.
            explanation_chars: room for a one-line explanation before the rating.
        """
        from llama_cpp.llama_grammar import LlamaGrammar

        grammar = LlamaGrammar.from_string(rating_grammar(explanation_chars), verbose=False)
        # one token is at least one character: this many always reaches the rating
        max_tokens = explanation_chars + 16

        def ask(messages: list[BaseMessage], attempt: int) -> str:
            reply: Any = llama.create_completion(
                render(messages), grammar=grammar, max_tokens=max_tokens, temperature=0.0
            )
            return str(reply["choices"][0]["text"])

        return cls(ask, **kwargs)

    @classmethod
    def with_expected_rating(
        cls,
        scorer: ReferenceLikelihood,
        *,
        prefix: str = "Rating: [[",
        **kwargs: Any,
    ) -> Judge:
        """A judge that reads the rating's distribution instead of sampling one digit.

        The prompt (in the model's chat format) is followed by ``prefix``; the model's
        probabilities for the next token being ``1`` … ``9`` give the expected rating
        (a probability-weighted score, as G-Eval does). A small model's greedy digit
        is nearly always the same; its expectation still moves with the answer, so
        fewer pairs tie. Runs on the device; nothing is sent.

        Args:
            scorer: a :class:`~langchain_cogenesis.evaluation.likelihood.ReferenceLikelihood`
                over the judge model.
            prefix: text put after the prompt, up to where the rating's digit goes.
        """
        import numpy as np

        digits: dict[int, int] = {}
        for value in range(1, 10):
            ids = scorer.tokenize(str(value), add_bos=False, special=False)
            if len(ids) == 1:  # tokenizers that split digits one per token: all nine
                digits[value] = ids[0]
        if not digits:
            raise ValueError("the judge model's tokenizer has no single-token digits")
        values = np.array(list(digits), dtype=np.float64)
        rows = np.array(list(digits.values()))

        def ask(messages: list[BaseMessage], attempt: int) -> str:
            logits = scorer.next_logits(scorer.render(messages) + prefix)[rows].astype(np.float64)
            weights = np.exp(logits - logits.max())
            expected = float(values @ weights / weights.sum())
            return f"{prefix}{expected:.3f}]]"

        return cls(ask, **kwargs)

    @classmethod
    def through(
        cls,
        guard: Any,
        *,
        max_tokens: int = 256,
        allow_private_context: bool = False,
        policy: PolicyRule = "block",
        **kwargs: Any,
    ) -> Judge:
        """A judge behind the egress guard's cloud endpoint (scanned, decided, audited).

        Args:
            guard: the :class:`~langchain_cogenesis.privacy.EgressGuard`; its audit
                log records every judge request (purpose ``judge``).
            max_tokens: bound on each reply.
            allow_private_context: send the user's private context to the cloud judge
                (the paper's setting). Each request that carries it is recorded as
                ``sent_with_private_context``.
            policy: without the opt-in, what happens to a request that carries
                private context: ``"block"`` (the default) raises
                :class:`~langchain_cogenesis.errors.PrivateJudgeRefused`;
                ``"redact"`` sends it with placeholders, which leaves the
                personalization rating little to judge.
        """
        return _GuardedJudge(
            guard,
            max_tokens=max_tokens,
            allow_private_context=allow_private_context,
            policy=policy,
            **kwargs,
        )

    def _ask(
        self,
        messages: list[BaseMessage],
        attempt: int,
        context: UserContext | None,
        instruction: ContextAwareInstruction | None,
    ) -> str:
        return self.ask(messages, attempt)

    def rate(
        self,
        aspect: Aspect,
        question: str,
        answer: str,
        context: UserContext | None = None,
        *,
        instruction: ContextAwareInstruction | None = None,
    ) -> Judgement:
        """One rating; retried up to ``max_attempts`` times while no rating is found.

        ``instruction`` (the task's two parts) tells a guarded judge which part of
        ``question`` is private.
        """
        profile, history = profile_text(context) if context is not None else ("(none)", "(none)")
        text = _TEMPLATES[aspect].format(
            question=question, answer=answer, profile_info=profile, writing_history=history
        )
        reply = ""
        for attempt in range(1, self.max_attempts + 1):
            reply = self._ask([HumanMessage(text)], attempt, context, instruction)
            rating = parse_rating(reply)
            if rating is not None:
                return Judgement(aspect, rating, reply, attempt)
        return Judgement(aspect, None, reply, self.max_attempts)

    def rate_all(
        self,
        question: str,
        answer: str,
        context: UserContext | None,
        aspects: Sequence[Aspect] = ASPECTS,
        *,
        instruction: ContextAwareInstruction | None = None,
    ) -> dict[Aspect, Judgement]:
        """Every aspect for one answer."""
        return {
            aspect: self.rate(aspect, question, answer, context, instruction=instruction)
            for aspect in aspects
        }


class _GuardedJudge(Judge):
    """A judge whose every request passes the guard's decision and audit log."""

    def __init__(
        self,
        guard: Any,
        *,
        max_tokens: int,
        allow_private_context: bool,
        policy: PolicyRule,
        **kwargs: Any,
    ) -> None:
        super().__init__(self._ask_without_context, **kwargs)
        self.guard = guard
        self.max_tokens = max_tokens
        self.allow_private_context = allow_private_context
        self.policy = policy

    def _ask_without_context(self, messages: list[BaseMessage], attempt: int) -> str:
        return self._ask(messages, attempt, None, None)

    def _ask(
        self,
        messages: list[BaseMessage],
        attempt: int,
        context: UserContext | None,
        instruction: ContextAwareInstruction | None,
    ) -> str:
        user_id = context.user_id if context is not None else ""
        scanner = judge_scanner(context, instruction)
        try:
            reply = self.guard.chat(
                messages,
                purpose="judge",
                max_tokens=self.max_tokens,
                scanner=scanner,
                user_id=user_id,
                policy=self.policy,
                allow_private=self.allow_private_context,
            )
        except PrivacyViolation:  # LocalOnly too: there is no local judge to fall back on
            found = {hit.detector for m in messages for hit in scanner.scan(str(m.text))}
            raise PrivateJudgeRefused(user_id, ", ".join(sorted(found))) from None
        return str(reply.text)


def win_tie_lose(
    ours: Sequence[float | None], baseline: Sequence[float | None]
) -> tuple[float, float, float]:
    """Shares (%) of samples where ``ours`` rates above, equal to, below ``baseline``.

    Pairs with a missing rating on either side are left out.
    """
    pairs = [(a, b) for a, b in zip(ours, baseline, strict=True) if a is not None and b is not None]
    if not pairs:
        return (0.0, 0.0, 0.0)
    wins = sum(a > b for a, b in pairs)
    ties = sum(a == b for a, b in pairs)
    total = len(pairs)
    return (100 * wins / total, 100 * ties / total, 100 * (total - wins - ties) / total)


Spoil = Literal["truncated", "shuffled"]


def spoiled(text: str, how: Spoil, *, seed: int = 0) -> str:
    """A copy of ``text`` that is worse by construction.

    ``truncated`` keeps its first third of words; ``shuffled`` keeps every word in a
    random order (seeded), so the words are the same and only the order is lost.
    """
    words = text.split()
    if how == "truncated":
        return " ".join(words[: max(1, len(words) // 3)])
    if how == "shuffled":
        random.Random(seed).shuffle(words)
        return " ".join(words)
    raise ValueError(f"unknown spoiling {how!r}; choose truncated or shuffled")


@dataclass(frozen=True)
class KnownPairAccuracy:
    """How often a judge rates a reference above a spoiled copy of itself."""

    pairs: int
    correct: int
    ties: int
    wrong: int
    unrated: int

    @property
    def accuracy(self) -> float:
        """Share of pairs with the reference rated strictly higher (ties count as wrong)."""
        return self.correct / self.pairs if self.pairs else 0.0

    @property
    def rated(self) -> float:
        """Share of pairs in which both answers got a rating."""
        return 1 - self.unrated / self.pairs if self.pairs else 0.0


def known_pair_accuracy(
    judge: Judge,
    questions: Sequence[str],
    references: Sequence[str],
    how: Spoil,
    *,
    aspect: Aspect = "overall_without_profile",
    max_words: int | None = None,
) -> KnownPairAccuracy:
    """Rate each reference and its :func:`spoiled` copy; count the orders the judge gets.

    ``max_words`` cuts each reference first (a shorter prompt for a slow judge); the
    spoiled copy is made from the cut text. ``overall_without_profile`` needs no
    private context.
    """
    correct = ties = wrong = unrated = 0
    for number, (question, reference) in enumerate(zip(questions, references, strict=True)):
        better = " ".join(reference.split()[:max_words]) if max_words else reference
        worse = spoiled(better, how, seed=number)
        high = judge.rate(aspect, question, better).rating
        low = judge.rate(aspect, question, worse).rating
        if high is None or low is None:
            unrated += 1
        elif high > low:
            correct += 1
        elif high == low:
            ties += 1
        else:
            wrong += 1
    return KnownPairAccuracy(len(references), correct, ties, wrong, unrated)
