"""Typed errors. Each message says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CoGenesisError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInstruction(CoGenesisError, ValueError):
    """The writing instruction is empty, whitespace only, or too long."""


class ConfigurationError(CoGenesisError, ValueError):
    """A setting is out of range (``k <= 0``, a negative token bound, ...)."""


class MissingExtra(ConfigurationError, ImportError):
    """A feature needs an optional part of the package that is not installed.

    The base install runs the sketch path with a caller-supplied local chat model,
    cloud endpoint and store; the heavy parts come with extras (``local``, ``fusion``,
    ``train``, ``eval``, ``privacy``, ``server``). The message names the one to install.
    Being an ``ImportError`` too, it is caught where an optional import is expected.
    """

    def __init__(self, extra: str, module: str, feature: str) -> None:
        self.extra = extra
        self.module = module
        self.feature = feature
        message = (
            f"{feature} needs the {extra!r} extra ({module} is not installed). "
            f'Install it with: pip install "langchain-cogenesis[{extra}]"'
        )
        super().__init__(message)
        # ImportError's own fields, which its __init__ would set from keywords
        self.msg, self.name = message, module

    @classmethod
    @contextmanager
    def if_absent(cls, extra: str, feature: str) -> Iterator[None]:
        """Turn a missing module imported in the block into this error::

        with MissingExtra.if_absent("local", "A local GGUF model"):
            from llama_cpp import Llama
        """
        try:
            yield
        except ModuleNotFoundError as missing:
            raise cls(extra, missing.name or str(missing), feature) from missing


class UnknownUser(CoGenesisError, LookupError):
    """No private context is stored for this user id.

    ``opt_in`` names the explicit way to go on without a stored user where the entry
    point has one (``PrivacyMiddleware(zero_knowledge=True)``); the message never
    lists other users' ids, only how to list them.
    """

    def __init__(self, user_id: str, *, opt_in: str = "") -> None:
        self.user_id = user_id
        message = (
            f"No private context is stored for user {user_id!r}. "
            f"Ingest some first: `cogenesis ingest --user {user_id} PATH...`, "
            "or list the known users with `cogenesis users list` "
            "(`store.list_users()`) and check the spelling."
        )
        super().__init__(f"{message} {opt_in}" if opt_in else message)


class UnknownThread(CoGenesisError, LookupError):
    """No checkpoint is stored for this thread id, so there is no run to resume."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(
            f"No run is stored under thread id {thread_id!r}. Resume with the checkpointer "
            "(e.g. the same SQLite file) the run was started with, or start a new run."
        )


class SourceFileError(CoGenesisError, ValueError):
    """A private source file could not be read or parsed; nothing was stored."""


class StoreError(CoGenesisError):
    """The private store could not be opened or used."""


class NotAChromaStore(StoreError):
    """The configured store path exists but does not hold a Chroma store."""


class StoreCorrupted(StoreError):
    """The store's files are damaged: its index no longer finds what it holds."""


class StoreLocked(StoreError):
    """Another process is writing to the same embedded store."""


class LocalModelError(CoGenesisError):
    """The local model could not be loaded."""


class CloudError(CoGenesisError):
    """Base class of cloud-side failures. Never carries private context.

    ``retryable`` says whether sending the same request again may succeed (a refused
    connection, a timeout, HTTP 429 or 5xx, a malformed or cut-off answer);
    ``retry_after`` is the wait the server asked for (``Retry-After``), in seconds.
    """

    def __init__(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class CloudUnavailable(CloudError):
    """The cloud endpoint could not be reached, timed out, or cut its answer off."""

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)


class CloudResponseError(CloudError):
    """The cloud endpoint answered, but not with a usable chat completion."""


class PrivacyViolation(CoGenesisError):
    """A payload bound for the cloud carries private context; nothing was sent."""


class LocalOnly(PrivacyViolation):
    """The policy is ``local_only`` and a payload carried private context; nothing was sent.

    The sketch graph catches it and writes the answer on the device alone.
    """


class CloudLogprobsUnavailable(CloudError):
    """The cloud endpoint does not return the log-probabilities fusion needs.

    Upstream llama.cpp's server and OpenAI's hosted models do not return prompt
    log-probabilities; use the sketch path (the router does this automatically).
    """


class TokenizerMismatch(CoGenesisError):
    """The local and cloud models do not share a tokenizer, so their logits cannot be fused."""


class RemoteStoreNotAllowed(ConfigurationError):
    """A Chroma server on another host was configured without the opt-in.

    A remote store holds every stored private document, so using one moves the
    user's private context off the device. Loopback servers need no opt-in.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"The Chroma server {url} is not on this machine: using it moves every stored "
            "private document off the device. Serve the store on loopback (`chroma run "
            "--host 127.0.0.1`), or opt in knowingly: allow_remote_store=True, "
            "COGENESIS_ALLOW_REMOTE_STORE=1, or `cogenesis --allow-remote-store` (the "
            "opening is recorded in the audit log). Nothing was sent."
        )


class PrivateJudgeRefused(PrivacyViolation):
    """A cloud judge would read a user's private context, and that was not allowed.

    The paper's judge prompts (Table 9) carry the user's profile, private details and
    writing history, so a cloud judge needs an explicit opt-in.
    """

    def __init__(self, user_id: str, detectors: str) -> None:
        self.user_id = user_id
        who = f"user {user_id!r}" if user_id else "the user"
        super().__init__(
            f"The cloud judge's prompt carries private context of {who} ({detectors}); "
            "nothing was sent. Judge on the device (`cogenesis eval --judge local`, "
            "Judge.of(ChatLocalLlama())), or, for synthetic users or users who agreed, "
            "opt in: `cogenesis eval --judge cloud --allow-private-judge`, "
            "Judge.through(guard, allow_private_context=True) (each request is recorded "
            "in the audit log as sent_with_private_context)."
        )


class CheckpointerUnavailable(CoGenesisError):
    """A durable checkpointer could not be opened (its packages or its database)."""


class RemoteCheckpointsNotAllowed(RemoteStoreNotAllowed):
    """A PostgreSQL checkpointer on another host was configured without the opt-in.

    Checkpoints hold each run's state: the retrieved private context, the private part
    of the instruction and the answer. A database off the device receives all of it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        ConfigurationError.__init__(
            self,
            f"The PostgreSQL server {url} is not on this machine: its checkpoints would "
            "hold every run's private context. Run PostgreSQL on loopback or a Unix "
            "socket, or opt in knowingly: allow_remote_store=True or "
            "COGENESIS_ALLOW_REMOTE_STORE=1 (the opening is recorded in the audit log). "
            "Nothing was sent.",
        )


class NotPermitted(CoGenesisError, PermissionError):
    """The authenticated caller may not do this: run as another user, or change a
    served run's parts. Nothing ran and nothing was sent."""


class InvalidToken(CoGenesisError, PermissionError):
    """A bearer token is missing, unknown, revoked, expired or forged."""


class CheckpointKeyMissing(ConfigurationError):
    """Encrypted checkpoints were asked for and no key is configured."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} are encrypted at rest and no key is set. Set COGENESIS_CHECKPOINT_KEY "
            "to a base64 key of 16, 24 or 32 bytes (`cogenesis tokens new-key` prints "
            "one) and keep it out of the database's backups."
        )


class StructuredOutputNotSupported(CoGenesisError, NotImplementedError):
    """Logit fusion writes free text: no grammar constrains the fused distribution."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"{model} has no structured output: each token is drawn from the fused "
            "distribution of two models, which no JSON-schema grammar constrains here. For "
            "JSON answers use ChatCoGenesis(...).with_structured_output(schema) (the sketch "
            "path: the local model writes under the grammar) or "
            "ChatLocalLlama(...).with_structured_output(schema)."
        )


class ToolsNotSupported(CoGenesisError, NotImplementedError):
    """The package's chat models take no tools: the writer sees private context, and a
    tool call is a way out of the device that no door checks."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"{model} does not call tools: the model that writes sees the user's private "
            "context, and a tool call would carry it past the egress guard. For JSON "
            "answers use with_structured_output(schema) (a grammar on the local model); "
            "to use the writer inside an agent, give the agent cogenesis_tool(...), or "
            "put PrivacyMiddleware in front of the agent's own model."
        )
