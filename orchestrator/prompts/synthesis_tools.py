"""Tools the model may call while it writes a procedure, and the bounded loop that runs them.

- run_python: run the solve() of the reply's own ```python block in the sandbox, on inputs the
  model gives (or the request's own), and see what it returns or raises. The code travels in
  the code block, not in a JSON string, for the reason the final reply puts it there: small
  models get the doubled backslashes of code inside JSON wrong.
- search_docs: search the documents indexed in the request's namespace.
- find_procedures: the verified procedures of the request's namespace nearest to a query.

Tenants stay apart: `SynthesisTools.bind(request, retrieved)` gives tools that only ever see the
request's namespace (its own sandbox workers, knowledge and store filtered by it). A tool is
offered only when it can help: search_docs when the namespace has documents, find_procedures
when it has procedures. `ToolLoop` bounds the calls and counts every engine call.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.base import Engine, Reply, ToolCall, ToolSpec
from sandbox import Limits, Sandbox, SandboxError
from sandbox import mended

from ..storage.embed import Embedder
from ..storage.knowledge import KnowledgeBase
from ..storage.store import ProcedureStore
from ..types import Request

RESULT_CHARS = 1200  # per tool result: the conversation must stay well inside the context
PASSAGE_CHARS = 500
QUERY_CHARS = 200
FOUND_LIMIT = 3
MAX_TOOL_CALLS = 3

QUERY = {"type": "object", "properties": {"query": {"type": "string", "maxLength": QUERY_CHARS}},
         "required": ["query"]}


def run_python_spec(inputs_schema: dict[str, Any]) -> ToolSpec:
    # Inputs are optional: `{}` runs the draft on the request's own inputs, the check verify
    # makes first, without the model copying a whole document into its call.
    return ToolSpec(
        "run_python",
        "Run solve() from the ```python block of this reply in the sandbox and see what it returns or "
        "raises. arguments: {} runs it on this request's own inputs; {\"inputs\": {...}} on inputs you give.",
        {"type": "object", "properties": {"inputs": inputs_schema}},
    )


SEARCH_DOCS = ToolSpec("search_docs", "Search the user's documents for passages about a query (formats, rules, "
                       "definitions).", QUERY)
FIND_PROCEDURES = ToolSpec("find_procedures", "Find verified procedures written earlier for similar tasks, with "
                           "their code.", QUERY)

GUIDANCE = (
    "Before your final reply you may call a tool: write the ```python block, then a tool call such as "
    '{"tool": "run_python", "arguments": {}} to see what solve() returns on these inputs. '
    'When the code is right, reply with the ```python block, then {"final": <the JSON object>}.'
)
LAST_CALL = "\n(That was your last tool call: now reply with the ```python block, then the JSON object.)"


def clip(text: str, limit: int = RESULT_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]} [... {len(text) - limit} characters cut]"


@dataclass
class SynthesisTools:
    """What the tools run on; `bind` makes the tools of one request."""

    sandbox: Sandbox
    knowledge: KnowledgeBase
    store: ProcedureStore
    embedder: Embedder
    limits: Limits = field(default_factory=Limits)

    def bind(self, request: Request, inputs_schema: dict[str, Any], has_documents: bool) -> "RequestTools":
        """The tools of one request: its namespace only. `inputs_schema` constrains run_python's
        inputs to the request's own names and types; `has_documents` (retrieve found passages)
        decides whether search_docs is worth offering."""
        return RequestTools(self, request, inputs_schema, has_documents)


class RequestTools:
    """The tools of one request, each confined to the request's namespace."""

    def __init__(self, tools: SynthesisTools, request: Request, inputs_schema: dict[str, Any], has_documents: bool):
        self._tools = tools
        self.request = request
        self.namespace = request.namespace
        self.specs = [run_python_spec(inputs_schema)]
        if has_documents:
            self.specs.append(SEARCH_DOCS)
        if tools.store.nearest(self._vector(request.task), self.namespace, limit=1):
            self.specs.append(FIND_PROCEDURES)

    def _vector(self, text: str) -> list[float]:
        return list(self._tools.embedder.embed_one(text))

    def run(self, call: ToolCall, code: str | None) -> str:
        """The tool's result as the model reads it; a failure is a result too, never an exception.

        `code` is the reply's ```python block, what run_python runs."""
        arguments = call.arguments or {}
        if call.name not in {spec.name for spec in self.specs}:
            return f"there is no tool {call.name!r} here; the tools are {', '.join(s.name for s in self.specs)}"
        if call.name == "run_python":
            return clip(self.run_python(code, arguments.get("inputs")))
        if call.name == "search_docs":
            return clip(self.search_docs(str(arguments.get("query", ""))))
        return clip(self.find_procedures(str(arguments.get("query", ""))))

    def run_python(self, code: str | None, inputs: dict[str, Any] | None) -> str:
        if not code or "def solve" not in code:
            return "there is no solve() to run: write it in the ```python block of the same reply"
        code = mended(code)  # as the draft will be verified: a mechanical slip is not reported
        violations = self._tools.sandbox.check(code)
        if violations:
            return f"the code breaks the sandbox rules: {'; '.join(violations)}"
        if inputs is None:
            inputs, which = self.request.inputs, "this request's inputs"
        else:
            which = json.dumps(inputs, ensure_ascii=False)[:300]
        try:
            value = self._tools.sandbox.run(code, inputs, limits=self._tools.limits, namespace=self.namespace)
        except SandboxError as error:
            return f"solve() on {which} raised {type(error).__name__}: {error}"
        return f"solve() on {which} returned: {json.dumps(value, ensure_ascii=False)}"

    def search_docs(self, query: str) -> str:
        passages = self._tools.knowledge.search(query[:QUERY_CHARS], self.namespace, FOUND_LIMIT)
        if not passages:
            return "no documents match"
        return "\n\n".join(f"[{p.source}] {clip(p.text, PASSAGE_CHARS)}" for p in passages)

    def find_procedures(self, query: str) -> str:
        found = self._tools.store.nearest(self._vector(query[:QUERY_CHARS]), self.namespace, FOUND_LIMIT)
        if not found:
            return "no procedures match"
        return "\n\n".join(f"# intent: {c.procedure.intent}\n# params: {json.dumps(c.procedure.params)}\n"
                           f"{c.procedure.code.strip()}" for c in found)


class ToolLoop:
    """Asks the engine for a reply, running the tool calls it makes first.

    At most `max_tool_calls` tools run; then the engine is asked once more without tools, so
    the conversation always ends in a final reply (or an EngineError). `calls` counts every
    engine call, also when one raised; `used` names the tools that ran, in order.
    """

    def __init__(self, engine: Engine, tools: RequestTools | None, max_tool_calls: int = MAX_TOOL_CALLS):
        self.engine = engine
        self.tools = tools
        self.max_tool_calls = max_tool_calls
        self.calls = 0
        self.used: list[str] = []

    def reply(self, messages: list[dict[str, str]], **chat: Any) -> Reply:
        """`chat` holds Engine.chat's other arguments (schema, max_tokens, code_block...)."""
        messages = list(messages)
        while True:
            offered = self.tools.specs if self.tools and len(self.used) < self.max_tool_calls else None
            self.calls += 1
            reply = self.engine.chat(messages, tools=offered, **chat)
            if not reply.tool_calls:
                return reply
            call = reply.tool_calls[0]
            self.used.append(call.name)
            result = self.tools.run(call, reply.code_block)
            if len(self.used) == self.max_tool_calls:
                result += LAST_CALL
            messages += [{"role": "assistant", "content": reply.text}, {"role": "tool", "content": result}]
