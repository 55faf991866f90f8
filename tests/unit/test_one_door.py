"""Only the egress guard may hold a cloud client: checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = ("langchain_cogenesis", "graphs", "retrievers")
CLOUD_MODULES = ("openai", "langchain_openai", "httpx", "requests", "urllib.request", "http.client")
ALLOWED = {
    # the one door
    "langchain_cogenesis/privacy/guard.py": {"openai", "langchain_openai", "httpx"},
    # health check of the stand-in on 127.0.0.1; carries no payload
    "langchain_cogenesis/models/standin.py": {"urllib.request"},
}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def network_imports(path: Path) -> set[str]:
    return {
        module
        for module in imported_modules(path)
        for cloud in CLOUD_MODULES
        if module == cloud or module.startswith(cloud + ".")
    }


def test_no_module_but_the_guard_imports_a_cloud_client() -> None:
    offenders = {}
    for folder in PACKAGE_DIRS:
        for path in (REPO / folder).rglob("*.py"):
            relative = path.relative_to(REPO).as_posix()
            found = network_imports(path) - ALLOWED.get(relative, set())
            if found:
                offenders[relative] = sorted(found)
    assert offenders == {}


def test_the_check_sees_an_offender(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from langchain_openai import ChatOpenAI\nimport httpx\n", encoding="utf-8")
    assert network_imports(sneaky) == {"langchain_openai", "httpx"}
