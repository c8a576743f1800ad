"""What every backend shares about replies: the JSON schema of a tool call, the conversation as a
chat template takes it, the GBNF grammar that constrains a reply (llama.cpp in process, and
llama.cpp servers through the OpenAI backend), and parsing a constrained reply."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from .base import EngineError, Reply, ToolCall, ToolSpec


def tools_schema(tools: list[ToolSpec], final: dict[str, Any] | None) -> dict[str, Any]:
    """One JSON schema for "call one of these tools, or give the final answer"."""
    options = [
        {
            "type": "object",
            "properties": {"tool": {"const": tool.name}, "arguments": tool.parameters},
            "required": ["tool", "arguments"],
        }
        for tool in tools
    ]
    options.append({"type": "object", "properties": {"final": final or {"type": "string"}}, "required": ["final"]})
    return {"anyOf": options}


def tools_prompt(tools: list[ToolSpec]) -> str:
    """What the model reads about the tools; the grammar enforces the same shape."""
    lines = [
        "You may call a tool before you answer. Reply with exactly one JSON object: either",
        '{"tool": "<tool name>", "arguments": {...}} to call a tool (its result comes back in the next message),',
        'or {"final": <your answer>} once you have the answer.',
        "Tools:",
    ]
    lines += [f"- {tool.name}: {tool.description} Arguments (JSON schema): {json.dumps(tool.parameters)}"
              for tool in tools]
    return "\n".join(lines)


# A reply's fenced code block holds definitions only: each line at the margin is an import, a
# def, a class, a decorator or an UPPER_CASE constant, each other line is indented code (no line
# only a comment), and the block has at most CODE_BLOCK_LINES lines of CODE_LINE_CHARS characters
# (llama.cpp stops it there): a procedure, never a program. Asked for the procedure only, the
# 1.5B still wrote tests, asserts, prints and copies of the request's records after solve() in
# 21 of 52 replies of one model run (59% of the blocks' characters), went on with comment lines
# about them when those were refused, or repeated one argument until the token budget ran out
# ("'tax', 'tax', ...": 159 s and no draft). Tests belong in the JSON: no function at the margin
# is named test... or main... either (a key mapping's reply wrote `def test(records, mapping)` and
# a `def main()` holding the request's records, 1,393 characters, in model run all-4e543eb).
CODE_BLOCK_LINES = 30
CODE_LINE_CHARS = 200
CODE_BLOCK_GBNF = f"""code-body ::= code-line{{0,{CODE_BLOCK_LINES}}}
code-line ::= (code-margin code-rest | ("    " | "\\t") [ \\t]* [^ \\t#\\n`] code-rest)? "\\n"
code-margin ::= "import " | "from " | "def " own-function | "class " | "@" | [A-Z_] [A-Z0-9_]* " "* "="
own-function ::= [a-ln-su-zA-Z_] | "t" ([a-df-zA-Z0-9_(] | "e" ([a-rt-zA-Z0-9_(] | "s" [a-su-zA-Z0-9_(])) | "m" ([b-zA-Z0-9_(] | "a" ([a-hj-zA-Z0-9_(] | "i" [a-mo-zA-Z0-9_(]))
code-rest ::= [^\\n`]{{0,{CODE_LINE_CHARS}}}
"""

UNICODE_ESCAPE = ' | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F]'


@lru_cache(maxsize=64)
def grammar_for(schema_json: str, code_block: str | None = None):
    """`gbnf_for`'s grammar, compiled for llama.cpp."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(gbnf_for(schema_json, code_block), verbose=False)


@lru_cache(maxsize=64)
def gbnf_for(schema_json: str, code_block: str | None = None) -> str:
    """The GBNF grammar of a reply (what llama.cpp servers take too): JSON matching the schema,
    optionally after a fenced code block of definitions.

    The code block exists because code inside a JSON string needs every backslash doubled: a
    small model writing a regex there emits `\\n` where it meant `\\s` and loops (measured:
    a whole token budget of "\\n*\\n*..."). \\uXXXX escapes are left out of JSON strings for
    the same reason (a reply spent its budget enumerating "\\u2013\\u2014..."): any character
    can be written as itself. The block holds definitions only (CODE_BLOCK_GBNF).
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    text = json_schema_to_gbnf(schema_json)
    if not re.search(r"^root ::=", text, flags=re.M) or ("char ::=" in text and UNICODE_ESCAPE not in text):
        raise EngineError("llama.cpp's JSON grammar changed shape; update engine.replies.gbnf_for")
    text = text.replace(UNICODE_ESCAPE, "")
    if code_block:
        text = re.sub(r"^root ::=", "json-root ::=", text, flags=re.M)
        text = (
            f'root ::= "```{code_block}\\n" code-body "```\\n" json-root\n'
            + CODE_BLOCK_GBNF + text
        )
    return text


FENCED = re.compile(r"^```[\w+-]*\n(.*?)```\s*(.*)$", re.S)


def prepare_messages(messages: list[dict[str, str]], tools: list[ToolSpec] | None) -> list[dict[str, str]]:
    """The conversation as the chat template gets it.

    Tool results become user turns (every chat template understands those), and the tool
    descriptions join the system message, which stays first and fixed so its KV state is
    reused from call to call.
    """
    plain = [
        {"role": "user", "content": f"Tool result:\n{m['content']}"} if m["role"] == "tool" else dict(m)
        for m in messages
    ]
    if tools:
        if plain and plain[0]["role"] == "system":
            plain[0]["content"] = f"{plain[0]['content']}\n\n{tools_prompt(tools)}"
        else:
            plain.insert(0, {"role": "system", "content": tools_prompt(tools)})
    return plain


def parse_structured(reply: Reply, text: str, code_block: str | None, tools: list[ToolSpec] | None) -> Reply:
    """Fill `reply` from grammar-constrained text: code block, then tool call or final data."""
    if code_block:
        fenced = FENCED.match(text)
        if fenced is None:
            raise EngineError("the reply does not start with the fenced code block asked for")
        reply.code_block, text = fenced.group(1), fenced.group(2)
    try:
        data = json.loads(text, strict=False)  # the grammar lets strings hold raw newlines
    except json.JSONDecodeError as error:
        raise EngineError(f"the model's reply is not JSON ({error.msg}): {text[:200]!r}") from None
    if tools and "tool" in data:
        reply.tool_calls = [ToolCall(data["tool"], data["arguments"])]
    else:
        reply.data = data["final"] if tools else data
    return reply
