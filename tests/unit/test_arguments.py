"""Arguments a langchain-openai user recognizes, misspellings refused, and a local
model that cannot load refused before the cloud is asked anything."""

from __future__ import annotations

from pathlib import Path

import pytest

import langchain_cogenesis
from langchain_cogenesis.errors import ConfigurationError, LocalModelError
from langchain_cogenesis.graphs import ChatCoGenesis, run_sketch_graph
from langchain_cogenesis.models import ChatLocalLlama
from tests.cloud_servers import RecordingServer
from tests.unit.graphs.test_sketch_graph import REQUEST, make_components


@pytest.mark.parametrize(
    ("make", "typo", "hint"),
    [
        (ChatCoGenesis, {"max_token": 5}, "did you mean 'max_tokens'?"),
        (ChatLocalLlama, {"local_modle": 1}, "has no argument 'local_modle'"),
        (ChatLocalLlama, {"temprature": 0.1}, "did you mean 'temperature'?"),
    ],
)
def test_a_misspelled_argument_is_refused_with_the_close_match(
    make: type, typo: dict[str, object], hint: str
) -> None:
    with pytest.raises(ConfigurationError, match=hint.replace("?", r"\?")):
        make(**typo)


def test_fusion_model_refuses_misspellings_too() -> None:
    fusion = pytest.importorskip("langchain_cogenesis.fusion")
    with pytest.raises(ConfigurationError, match="did you mean 'first_k'"):
        fusion.ChatCoGenesisFusion(first_kk=3)


def test_the_cloud_is_chosen_the_way_chat_openai_chooses_it() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        parts = make_components(server)
        model = ChatCoGenesis(
            model="gpt-4o", base_url=server.base_url, api_key="sk-test", timeout=5,
            store=parts.store, local_model=parts.local_model, user_id="maya",
        )  # fmt: skip
        model.invoke("Write a welcome speech for a harvest festival")
        [request] = server.chat_requests
    assert request["body"]["model"] == "gpt-4o"
    assert {k.lower(): v for k, v in request["headers"].items()}[
        "authorization"
    ] == "Bearer sk-test"
    assert model.api_key is not None and "sk-test" not in repr(model)
    with pytest.raises(ConfigurationError, match="egress_guard"):
        ChatCoGenesis(model="gpt-4o", egress_guard=parts.egress_guard)


def test_model_names_the_local_gguf_and_a_bad_file_is_named(tmp_path: Path) -> None:
    chosen = ChatLocalLlama(model=str(tmp_path / "writer.gguf"))
    assert chosen.resolved_model_path() == tmp_path / "writer.gguf"
    assert chosen.model_name == "writer"
    assert ChatLocalLlama(model="gemma-3-270m").model_name == "gemma-3-270m"  # a label
    with pytest.raises(ConfigurationError, match="once"):
        ChatLocalLlama(model=str(tmp_path / "a.gguf"), model_path=tmp_path / "b.gguf")
    with pytest.raises(LocalModelError, match="does not exist"):
        chosen.check_model_file()
    with pytest.raises(LocalModelError, match="is a folder"):
        ChatLocalLlama(model_path=tmp_path).check_model_file()
    (tmp_path / "notes.gguf").write_text("not a model")
    with pytest.raises(LocalModelError, match="not a GGUF file"):
        ChatLocalLlama(model_path=tmp_path / "notes.gguf").check_model_file()


def test_a_local_model_that_cannot_load_fails_before_the_cloud_is_asked(tmp_path: Path) -> None:
    with RecordingServer(reply="1. Welcome") as server:
        parts = make_components(server)
        parts.local_model = ChatLocalLlama(model_path=tmp_path)  # a folder
        with pytest.raises(LocalModelError, match="is a folder"):
            run_sketch_graph(parts, {**REQUEST, "mode": "sketch"})
        assert server.requests == []


def test_what_users_import_comes_from_the_top_level() -> None:
    for name in ("ChatCoGenesis", "ChatLocalLlama", "PrivacyMiddleware", "cogenesis_tool",
                 "PrivateStore", "PrivateContextRetriever", "EgressGuard", "Components",
                 "build_sketch_graph"):  # fmt: skip
        assert getattr(langchain_cogenesis, name) is not None
        assert name in langchain_cogenesis.__all__


def test_a_local_model_that_sends_its_prompts_elsewhere_is_refused_before_it_reads() -> None:
    from langchain_openai import ChatOpenAI

    from langchain_cogenesis.models.locality import RemoteLocalModel, endpoints, is_on_this_device

    parts = make_components(None)
    hosted = ChatOpenAI(api_key="sk-x", timeout=2, max_retries=0)  # api.openai.com
    elsewhere = ChatOpenAI(api_key="sk-x", base_url="http://192.0.2.7:8000/v1", timeout=2)
    for remote in (hosted, elsewhere, elsewhere.bind(temperature=0)):
        parts.local_model = remote
        with pytest.raises(RemoteLocalModel, match="allow_remote_local_model"):
            run_sketch_graph(parts, {**REQUEST, "mode": "local"})
    # the explicit opt-in lets it through (here the unreachable host then fails)
    parts.local_model = elsewhere
    parts.allow_remote_local_model = True
    with pytest.raises(Exception) as failed:
        run_sketch_graph(parts, {**REQUEST, "mode": "local"})
    assert not isinstance(failed.value, RemoteLocalModel)
    # on this device: loopback servers, Unix sockets, in-process models
    here = ChatOpenAI(api_key="sk-x", base_url="http://127.0.0.1:8080/v1")
    assert endpoints(here) and all(is_on_this_device(each) for each in endpoints(here))
    assert is_on_this_device("http://localhost:11434") and is_on_this_device("unix:/run/x.sock")
    assert not is_on_this_device("https://ollama.example.com")
    assert endpoints(make_components(None).local_model) == []
    model = ChatCoGenesis(store=parts.store, local_model=hosted, user_id="maya", mode="local")
    with pytest.raises(RemoteLocalModel):
        model.invoke("Write a welcome speech")


def test_bad_configuration_is_an_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_cogenesis.config import Settings
    from langchain_cogenesis.privacy import EgressGuard
    from langchain_cogenesis.privacy.egress.retries import _advice

    with pytest.raises(ConfigurationError, match="base_url='notaurl' is not a usable endpoint"):
        EgressGuard(base_url="notaurl", model="m", audit_log=None)
    monkeypatch.setenv("COGENESIS_CLOUD_BASE_URL", "localhost:8000")
    with pytest.raises(ConfigurationError, match="COGENESIS_CLOUD_BASE_URL='localhost:8000'"):
        EgressGuard(model="m", audit_log=None)
    monkeypatch.delenv("COGENESIS_CLOUD_BASE_URL")
    monkeypatch.setenv("COGENESIS_ALLOW_REMOTE_STORE", "maybe")
    with pytest.raises(ConfigurationError, match="COGENESIS_ALLOW_REMOTE_STORE='maybe'"):
        Settings.from_env()
    monkeypatch.setenv("COGENESIS_ALLOW_REMOTE_STORE", "off")
    assert Settings.from_env().allow_remote_store is False
    # numbers: the guard's timeout and retries come from the same settings
    monkeypatch.setenv("COGENESIS_CLOUD_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("COGENESIS_CLOUD_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="COGENESIS_CLOUD_TIMEOUT='soon'"):
        EgressGuard(model="m", audit_log=None)
    monkeypatch.setenv("COGENESIS_CLOUD_TIMEOUT", "0")
    with pytest.raises(ConfigurationError, match=r"COGENESIS_CLOUD_TIMEOUT='0': .*greater than 0"):
        EgressGuard(model="m", audit_log=None)
    monkeypatch.setenv("COGENESIS_CLOUD_TIMEOUT", "2.5")
    monkeypatch.setenv("COGENESIS_CLOUD_MAX_RETRIES", "5")
    guard = EgressGuard(model="m", audit_log=None)
    assert (guard.timeout, guard.max_retries) == (2.5, 5)
    assert EgressGuard(model="m", audit_log=None, timeout=9, max_retries=0).timeout == 9
    monkeypatch.setenv("COGENESIS_CLOUD_MAX_RETRIES", "-1")
    with pytest.raises(ConfigurationError, match="COGENESIS_CLOUD_MAX_RETRIES='-1'"):
        Settings.from_env()
    # advice that matches the failure
    assert "/v1" in _advice(404, "http://127.0.0.1:8000", transient=False)
    assert "/v1" not in _advice(404, "http://127.0.0.1:8000/v1", transient=False)
    assert "COGENESIS_CLOUD_API_KEY" in _advice(401, "http://x/v1", transient=False)


def test_every_variable_is_read_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ``COGENESIS_*`` variable is a validated field of ``Settings``; no other
    module reads one from the environment by itself."""
    import re
    from pathlib import Path

    import langchain_cogenesis
    from langchain_cogenesis.config import Settings

    root = Path(langchain_cogenesis.__file__).parent
    named = set()
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        named |= set(re.findall(r"COGENESIS_[A-Z_]+[A-Z]", text))
        if source.name != "config.py":
            reads = re.findall(r"(?:environ(?:\.get)?[\[(]|getenv\()\s*[\"']COGENESIS_", text)
            assert not reads, f"{source.relative_to(root)} reads a COGENESIS_ variable itself"
    fields = {
        str(info.validation_alias.choices[0])  # type: ignore[union-attr]
        for info in Settings.model_fields.values()
    }
    assert named - {"COGENESIS_"} <= fields, named - fields
    for variable in fields:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # a secret's value is never repeated in the error, even a malformed one
    settings = Settings.from_env(
        {"COGENESIS_CLOUD_API_KEY": "sk-very-secret", "COGENESIS_LOCAL_THREADS": "4"}
    )
    assert settings.secret("cloud_api_key") == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings) and settings.local_threads == 4
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {"COGENESIS_CHROMA_URL": "http://me:hunter2@chroma:x/", "COGENESIS_LOCAL_THREADS": "0"}
        )
    message = str(caught.value)
    assert "COGENESIS_CHROMA_URL" in message and "COGENESIS_LOCAL_THREADS='0'" in message
    assert "hunter2" not in message
    # an empty variable counts as unset; the fallback key variable is OPENAI_API_KEY
    monkeypatch.setenv("COGENESIS_CLOUD_TIMEOUT", "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert Settings.from_env().cloud_timeout == 60.0
    assert Settings.from_env().secret("cloud_api_key") == "sk-openai"
    # explicit arguments win and are named as arguments when wrong
    with pytest.raises(ConfigurationError, match="argument cloud_max_retries"):
        Settings.from_env(cloud_max_retries="many")
