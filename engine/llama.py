"""The default engine: llama.cpp in process, through llama-cpp-python.

- The model loads on the first `chat` (or `load()`), never at construction: a process that
  only serves cache hits never pays for it.
- The conversation is rendered with the chat template the GGUF carries and tokenized here,
  so the prompt's length is known before anything runs: a prompt that leaves no room for
  the reply is a ContextOverflow, never a crash nor a silently shortened reply; with
  `context_shift=True` it runs instead in the n_ctx cells, evicting old tokens (bounded mode).
- A schema turns into a grammar (llama.cpp's JSON-schema converter, minus \\u escapes), so
  a reply always parses: synthesis never fails on malformed JSON, only on what it says.
  (`response_format={"type": "json_object", "schema": ...}` goes through the same converter;
  a grammar of our own also allows the fenced code block before the JSON.)
- Tools become one grammar over {"tool": name, "arguments": {...}} | {"final": answer}, and
  the tools are described in the system message so the model knows what it may call.
- llama-cpp-python keeps the KV state of the previous call and re-evaluates only past the
  longest common token prefix: a retry re-uses everything up to its feedback. The system turn
  (the long fixed synthesis instructions) is also kept on disk (engine.prefix_cache), so a
  new process starts warm. `Reply.cached_prompt_tokens` shows both.
- Flash attention is on where it is faster, per device (engine.device), unless overridden.
- A reply under a grammar asks the grammar about the sampled token first and about the whole
  vocabulary only when it refuses it (engine.grammar_first): a greedy reply is the same, faster.
- Greedy replies may be decoded speculatively with the 0.5B draft model (engine.speculative):
  same tokens as plain decoding, grammar included; the draft length adapts to the measured
  costs and acceptance, and speculation stays off where it does not pay (this CPU).
- Where no draft model pays, a greedy reply under a schema still speculates, on drafts that
  cost nothing to make: the keys, separators and brackets its grammar fixes, and what it copies
  from its prompt (engine.schema_drafts). Same tokens as the main model picks, in fewer steps.
- `chat_many` gives several replies to one prompt in one batched decode (engine.batched): the
  first is `chat`'s, the others sampled; synthesis lets verification pick among them.
- Every reply carries token counts and llama.cpp's own prompt and decode timings.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import ContextOverflow, EngineError, Reply, ReplyTruncated, ToolSpec
from .batched import generate_together, parallel_context
from .device import DRAFTS_PER_CALL_DEFAULT, SPECULATE_DEFAULT, device_kind, on_or_off, resolve_flash_attn
from .kv.llama_shift import complete_with_context_shift
from .models import MODELS, check_gguf, default_model_path, installed_model, is_verified, seglam_home, sha256_of
from .prefix_cache import MIN_PREFIX_TOKENS, PrefixStore, prefix_key
from .replies import grammar_for, parse_structured, prepare_messages, tools_schema
from .schema_drafts import GrammarDrafter
from .speculative import (DraftLengthController, Drafter, PromptLookupDrafter, SpeculationStats, load_controller,
                          save_controller, speculative_generate)

PREFIX_DIR_ENV = "SEGLAM_PREFIX_DIR"
DRAFT_MODEL_ENV = "SEGLAM_DRAFT_MODEL"
GRAMMAR_DRAFTS_ENV = "SEGLAM_GRAMMAR_DRAFTS"
# Drafts from the grammar are a whole key-and-separator run. Copies from the prompt are checked
# only after the last 4 to 6 tokens matched, and 4 at a time: in a trial with 3 to 5 and 8, more
# than half were refused and decoding was slower than with the grammar's drafts alone
# (bench/results/synthesis_decoding.md measures these settings against no copies).
GRAMMAR_DRAFT_TOKENS = 16
COPIED_DRAFT_TOKENS = 4
COPY_NGRAM = (4, 6)  # the fewest and most trailing tokens a copy must match earlier in the context


@lru_cache(maxsize=16)
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    pinned = next((s for s in MODELS.values() if s.filename == path.name and is_verified(path, s)), None)
    return pinned.sha256 if pinned else sha256_of(path)  # a user's own file: hashed once per change


def model_digest(path: Path) -> str:
    """The sha256 of a model file: the pinned one for a verified default, else hashed."""
    stat = path.stat()
    return _digest(path, stat.st_size, stat.st_mtime_ns)


def default_threads() -> int:
    """The cores this process may run on (cgroup/affinity aware, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) or 1


class LlamaEngine:
    """Engine on a local GGUF model (default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M).

    model_path: any instruct GGUF with a chat template; None means the default main model
        (`make models` installs it; engine.models.installed_model).
    home: the seglam home the engine writes its state under (kv/: prefix KV states, measured
        speculation costs) and looks for models in first; None: $SEGLAM_HOME or ~/.cache/seglam.
    n_ctx: context window in tokens, prompt and reply together.
    n_threads: decode threads; None means every core this process may use.
    n_batch: prompt tokens evaluated per step.
    n_gpu_layers: layers offloaded to a GPU when llama.cpp was built with one (-1: all).
    flash_attn: True/False, or "on"/"off"/"auto"; None reads $SEGLAM_FLASH_ATTN, else auto:
        the measured winner for the device (engine.device).
    prefix_cache: keep the KV state of the system turn on disk, under prefix_dir (default
        $SEGLAM_PREFIX_DIR, else <seglam home>/kv), so a new process skips evaluating it.
    draft_model: "auto" (the default draft model where the device's default says speculation
        pays, engine.device.SPECULATE_DEFAULT: not on a CPU; then only while measured costs agree),
        a GGUF path (same vocabulary as the main model), or "off"; None reads
        $SEGLAM_DRAFT_MODEL, else "auto". Only greedy replies (temperature 0) speculate.
    grammar_drafts: speculate on the text a reply's schema fixes and on copies from its prompt
        where no draft model speculates (engine.schema_drafts); None reads
        $SEGLAM_GRAMMAR_DRAFTS ("on" or "off"), else on.
    context_shift: when a prompt plus its reply would not fit n_ctx, evict old tokens (sinks +
        recent, engine/kv/llama_shift.py) instead of raising ContextOverflow; `Reply.evicted_tokens`
        says how many went.
    parallel: the most replies `chat_many` decodes together (sequences of the one context).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        n_gpu_layers: int = -1,
        flash_attn: bool | str | None = None,
        prefix_cache: bool = True,
        prefix_dir: str | Path | None = None,
        draft_model: str | Path | None = None,
        grammar_drafts: bool | None = None,
        context_shift: bool = False,
        parallel: int = 4,
        seed: int = 0,
        verbose: bool = False,
        home: str | Path | None = None,
    ):
        self._model_path = Path(model_path).expanduser() if model_path else None
        self._home = home
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.n_gpu_layers = n_gpu_layers
        self._flash_attn_setting = flash_attn
        self.context_shift = context_shift
        self.parallel = max(1, parallel)
        self.seed = seed
        self.verbose = verbose
        self._state_dir = Path(prefix_dir or os.environ.get(PREFIX_DIR_ENV) or seglam_home(home) / "kv").expanduser()
        self._prefix_store = PrefixStore(self._state_dir) if prefix_cache else None
        self._draft_setting = str(draft_model or os.environ.get(DRAFT_MODEL_ENV) or "auto")
        self.grammar_drafts = on_or_off(grammar_drafts, GRAMMAR_DRAFTS_ENV, "grammar_drafts")
        self._drafter: Drafter | None = None
        self._controller = None
        self._controller_file: Path | None = None
        self.last_speculation: SpeculationStats | None = None  # what the last greedy reply's decoding did
        self.last_prefix: str | None = None  # how the last chat got its system turn's KV state
        self._prefix_tokens: list[int] = []  # the last chat's system turn, when long enough to keep
        self._llm = None
        self._template = None
        self._model_id: str | None = None
        self._model_sha256: str | None = None
        self._lock = threading.Lock()  # one llama context: one generation at a time

    @property
    def model_path(self) -> Path:
        if self._model_path is None:
            self._model_path = default_model_path("main", self._home)
        return check_gguf(self._model_path)

    @property
    def model_sha256(self) -> str:
        if self._model_sha256 is None:
            self._model_sha256 = model_digest(self.model_path)
        return self._model_sha256

    @property
    def model_id(self) -> str:
        """`<file stem>@<first 12 hex of its sha256>`: what provenance records."""
        if self._model_id is None:
            self._model_id = f"{self.model_path.stem}@{self.model_sha256[:12]}"
        return self._model_id

    @property
    def device(self) -> str:
        return device_kind(self.n_gpu_layers)

    @property
    def drafts_per_call(self) -> int:
        """How many synthesis drafts one call should ask for on this device (engine.device)."""
        return min(self.parallel, DRAFTS_PER_CALL_DEFAULT[self.device])

    @property
    def flash_attn(self) -> bool:
        return resolve_flash_attn(self._flash_attn_setting, self.device)

    def llama_kwargs(self) -> dict[str, Any]:
        """The llama.cpp settings the model loads with (a seam for draft models and the like)."""
        return {
            "model_path": str(self.model_path),
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
            "n_threads_batch": self.n_threads,
            "n_batch": self.n_batch,
            "n_gpu_layers": self.n_gpu_layers,
            "flash_attn": self.flash_attn,
            "seed": self.seed,
            "verbose": self.verbose,
        }

    def load(self):
        """Load the model now (otherwise the first `chat` does); returns the llama_cpp.Llama."""
        with self._lock:
            return self._load()

    def _load(self):
        if self._llm is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            from .grammar_first import GrammarFirstLlama

            kwargs = self.llama_kwargs()
            try:
                with parallel_context(self.parallel):
                    llm = GrammarFirstLlama(**kwargs)
            except ValueError as error:
                raise EngineError(f"llama.cpp could not load {kwargs['model_path']}: {error}") from None
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise EngineError(f"{kwargs['model_path']} carries no chat template (tokenizer.chat_template); "
                                  "seglam needs an instruct/chat GGUF")

            def token_text(token: int) -> str:
                return llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

            self._template = Jinja2ChatFormatter(template=template, eos_token=token_text(llm.token_eos()),
                                                 bos_token=token_text(llm.token_bos()))
            self._llm = llm
        return self._llm

    def tokenize_chat(self, messages: list[dict[str, str]], tools: list[ToolSpec] | None = None) -> list[int]:
        """The prompt tokens `chat` would evaluate for this conversation."""
        with self._lock:
            return self._tokenize_chat(self._load(), messages, tools)

    def _tokenize_chat(self, llm, messages, tools) -> list[int]:
        rendered = self._template(messages=prepare_messages(messages, tools))
        return llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)

    def chat(
        self,
        messages: list[dict[str, str]],
        tools: list[ToolSpec] | None = None,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        code_block: str | None = None,
    ) -> Reply:
        import llama_cpp

        grammar_schema = tools_schema(tools, schema) if tools else schema
        grammar = reply_grammar(grammar_schema, code_block)
        with self._lock:
            llm = self._load()
            started = time.perf_counter()
            prompt = self._tokenize_chat(llm, messages, tools)
            fits = len(prompt) + max_tokens <= self.n_ctx
            if not fits and not self.context_shift:
                raise ContextOverflow(len(prompt), self.n_ctx, reserved=max_tokens)
            llama_cpp.llama_perf_context_reset(llm.ctx)
            evicted = 0
            try:
                if fits:
                    self.last_prefix = self._warm_prefix(llm, messages, tools, prompt)
                    cached = self._kept_tokens(llm, prompt)
                else:  # bounded mode: the window slides, so no earlier state is reused
                    self.last_prefix, self.last_speculation, cached = None, None, 0
                # the reply's own prompt evaluation begins: a system turn built above is not its time
                generating, prompt_ms_before = time.perf_counter(), llama_cpp.llama_perf_context(llm.ctx).t_p_eval_ms
                if fits:
                    text, finish_reason, completion_tokens = self._complete(
                        llm, prompt, grammar, max_tokens, temperature, grammar_schema, code_block)
                else:
                    text, finish_reason, completion_tokens, evicted, _ = complete_with_context_shift(
                        llm, prompt, grammar=grammar, max_tokens=max_tokens, temperature=temperature, seed=self.seed
                    )
            except RuntimeError as error:  # llama_decode failed (memory): the next call starts clean
                llm.reset()
                llm._ctx.kv_cache_clear()
                raise EngineError(f"llama.cpp failed while generating ({error}); try a shorter prompt, "
                                  "a lower max_tokens or a smaller n_ctx") from None
            finished_at = time.perf_counter()
            total_ms = (finished_at - started) * 1000
            perf = llama_cpp.llama_perf_context(llm.ctx)
        reply = Reply(
            text=text,
            prompt_tokens=len(prompt),
            cached_prompt_tokens=max(0, cached),
            completion_tokens=completion_tokens,
            # llama.cpp counts a verify batch as prompt evaluation: speculation times its own phases
            prompt_ms=self.last_speculation.prompt_s * 1000 if self.last_speculation else perf.t_p_eval_ms,
            # wall time, sampling included: llama.cpp's own t_eval_ms leaves it (and so the grammar) out
            decode_ms=(self.last_speculation.decode_s * 1000 if self.last_speculation
                       else (finished_at - generating) * 1000 - (perf.t_p_eval_ms - prompt_ms_before)),
            total_ms=total_ms,
            model=self.model_id,
            evicted_tokens=evicted,
        )
        return finished(reply, finish_reason, grammar_schema, code_block, tools, max_tokens)

    def chat_many(
        self,
        messages: list[dict[str, str]],
        n: int,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.7,
        code_block: str | None = None,
    ) -> list[Reply | EngineError]:
        """Up to n replies to one conversation, decoded together (engine.batched).

        The first is the reply `chat` gives at temperature 0; the others sample at `temperature`,
        each with its own seed. As many as fit the context come back (prompt plus max_tokens each;
        at most `parallel`). A reply that failed as `chat` would have raised (cut before its JSON
        closed, not JSON) is that error in its place. No tools: a tool call takes a turn of its own.
        With `context_shift`, a conversation that leaves no room for one reply gets `chat`'s one
        greedy reply through the sliding window, instead of ContextOverflow.
        """
        import llama_cpp

        if self.context_shift and len(self.tokenize_chat(messages)) + max_tokens > self.n_ctx:
            try:
                return [self.chat(messages, schema=schema, max_tokens=max_tokens, code_block=code_block)]
            except EngineError as error:  # cut, or not JSON: the error in its place, as below
                return [error]

        grammar = reply_grammar(schema, code_block)
        with self._lock:
            llm = self._load()
            started = time.perf_counter()
            prompt = self._tokenize_chat(llm, messages, None)
            room = (self.n_ctx - len(prompt)) // max_tokens
            if room < 1:
                raise ContextOverflow(len(prompt), self.n_ctx, reserved=max_tokens)
            count = max(1, min(n, self.parallel, room))
            self.last_prefix = self._warm_prefix(llm, messages, None, prompt)
            self.last_speculation = None
            cached = self._kept_tokens(llm, prompt)
            samplers = [llm._init_sampler(temp=0.0, repeat_penalty=1.0, grammar=grammar)]
            for index in range(1, count):
                llm.set_seed(self.seed + index)
                samplers.append(llm._init_sampler(temp=temperature, repeat_penalty=1.0, grammar=grammar))
            llm.set_seed(self.seed)
            try:
                outputs = generate_together(llm, prompt, samplers, max_tokens,
                                            lambda token: llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))
            except RuntimeError as error:
                llm.reset()
                llm._ctx.kv_cache_clear()
                raise EngineError(f"llama.cpp failed while generating ({error}); try a shorter prompt, "
                                  "a lower max_tokens or fewer replies") from None
            timing = {"total_ms": (time.perf_counter() - started) * 1000, "prompt_ms": outputs.prompt_s * 1000,
                      "decode_ms": outputs.decode_s * 1000}
        replies: list[Reply | EngineError] = []
        for output in outputs.sequences:
            text = llm.detokenize(output.tokens, prev_tokens=prompt).decode("utf-8", errors="ignore")
            reply = Reply(text=text, prompt_tokens=len(prompt), cached_prompt_tokens=max(0, cached),
                          completion_tokens=len(output.tokens), model=self.model_id, **timing)
            try:
                replies.append(finished(reply, output.finish_reason, schema, code_block, None, max_tokens))
            except EngineError as error:
                replies.append(error)
        return replies

    def _kept_tokens(self, llm, prompt: list[int]) -> int:
        """What of the KV state the next evaluation keeps for `prompt` (at least its last token is
        evaluated again, for fresh logits); a prefix built by this call was evaluated by it."""
        if self.last_prefix == "built":
            return 0
        return min(llm.longest_token_prefix(llm.input_ids[:llm.n_tokens].tolist(), prompt), len(prompt) - 1)

    def fixed_prefix(self, llm, messages, tools, prompt: list[int]) -> list[int]:
        """The prompt tokens of the system turn: the part every synthesis call shares.

        The common token prefix of the system turn rendered alone and the whole prompt, so it
        ends where the chat template's first later turn begins, whatever the template.
        """
        prepared = prepare_messages(messages, tools)
        if not prepared or prepared[0]["role"] != "system":
            return []
        head = self._template(messages=prepared[:1])
        head_tokens = llm.tokenize(head.prompt.encode("utf-8"), add_bos=not head.added_special, special=True)
        return prompt[:min(llm.longest_token_prefix(head_tokens, prompt), len(prompt) - 1)]

    def prefix_settings(self) -> dict[str, Any]:
        """Everything besides the model and the tokens that shapes a KV state."""
        return {"n_ctx": self.n_ctx, "n_batch": self.n_batch, "flash_attn": self.flash_attn,
                "device": self.device, "n_gpu_layers": self.n_gpu_layers, "parallel": self.parallel}

    def _warm_prefix(self, llm, messages, tools, prompt: list[int]) -> str | None:
        """Bring the system turn's KV state in from disk (or build and save it) when the
        context does not hold it; returns how (engine.prefix_cache.PrefixStore.warm) or None."""
        self._prefix_tokens = []
        if self._prefix_store is None:
            return None
        prefix = self.fixed_prefix(llm, messages, tools, prompt)
        self._prefix_tokens = prefix if len(prefix) >= MIN_PREFIX_TOKENS else []
        if not self._prefix_tokens:
            return None
        key = prefix_key(self.model_sha256, prefix, self.prefix_settings())
        return self._prefix_store.warm(llm, prefix, key)

    def _complete(self, llm, prompt: list[int], grammar, max_tokens: int, temperature: float,
                  schema: dict[str, Any] | None = None, code_block: str | None = None) -> tuple[str, str, int]:
        """Generate from prompt tokens: (text, finish reason "stop"|"length", tokens generated).

        The one place tokens are produced, so another decoding strategy replaces only this.
        """
        self.last_speculation = None
        drafter = self._drafter_for(temperature)
        if drafter is not None:
            return self._complete_speculatively(llm, drafter, self._controller, prompt, grammar, max_tokens)
        if self.grammar_drafts and schema is not None and temperature == 0.0:
            copies = PromptLookupDrafter(max_ngram_size=COPY_NGRAM[1], min_ngram_size=COPY_NGRAM[0],
                                         max_draft=COPIED_DRAFT_TOKENS)
            # drafting costs nothing here, so every proposal is checked: the drafter limits itself
            always = DraftLengthController(max_draft=GRAMMAR_DRAFT_TOKENS, min_draft=GRAMMAR_DRAFT_TOKENS)
            return self._complete_speculatively(llm, GrammarDrafter(llm, schema, code_block, copies), always,
                                                prompt, grammar, max_tokens)
        result = llm.create_completion(
            prompt=prompt,
            grammar=grammar,
            temperature=temperature,
            repeat_penalty=1.0,  # penalties would push code and JSON off their natural tokens
            max_tokens=max_tokens,
            seed=self.seed,
        )
        choice = result["choices"][0]
        return choice["text"], choice["finish_reason"], result["usage"]["completion_tokens"]

    def draft_path(self) -> Path | None:
        """The draft model to speculate with, or None (off, or the main model is the draft)."""
        if self._draft_setting.lower() == "off":
            return None
        if self._draft_setting.lower() != "auto":
            return check_gguf(Path(self._draft_setting).expanduser())
        if not SPECULATE_DEFAULT[self.device]:
            return None
        path = installed_model("draft", self._home)
        return path if path is not None and path.name != self.model_path.name else None

    def controller_path(self, draft: Path) -> Path:
        """Where the measured speculation costs for this model pair on this machine live."""
        import llama_cpp

        identity = json.dumps([self.model_sha256, model_digest(draft), self.device, self.n_threads,
                               self.flash_attn, llama_cpp.__version__,
                               llama_cpp.llama_print_system_info().decode(errors="replace")])
        return self._state_dir / f"speculation-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.json"

    def _drafter_for(self, temperature: float) -> Drafter | None:
        """The draft model when this reply should speculate: greedy, a draft available, and
        no measurement yet (for this model pair and machine) saying it does not pay."""
        if temperature != 0.0:
            return None  # sampled replies would need rejection sampling to keep their distribution
        if self._controller is None:
            draft = self.draft_path()
            self._controller_file = self.controller_path(draft) if draft else None
            self._controller = load_controller(self._controller_file) if draft else False
        if not self._controller or (self._controller.cycles and not self._controller.pays()):
            return None
        if self._drafter is None:
            self._drafter = self.load_drafter()
        return self._drafter

    def load_drafter(self) -> Drafter:
        """The draft model, loaded with the main model's settings."""
        from llama_cpp import Llama

        return Drafter(Llama(**dict(self.llama_kwargs(), model_path=str(self.draft_path()))))

    def set_speculation(self, drafter, controller: DraftLengthController | bool) -> None:
        """Speculate with this drafter (a Drafter, a PromptLookupDrafter) and controller from
        now on, e.g. one held on with min_draft=1 to measure what speculation costs; (None,
        False) decodes plainly. Measurements made this way are not saved for later processes."""
        with self._lock:
            self._drafter, self._controller, self._controller_file = drafter, controller, None

    def _complete_speculatively(self, llm, drafter, controller: DraftLengthController, prompt: list[int], grammar,
                                max_tokens: int) -> tuple[str, str, int]:
        import llama_cpp

        started = time.perf_counter()
        sampler = llm._init_sampler(temp=0.0, repeat_penalty=1.0, grammar=grammar)  # create_completion's
        keep = min(llm.longest_token_prefix(llm.input_ids[:llm.n_tokens].tolist(), prompt), len(prompt) - 1)
        llm.n_tokens = keep
        llm.eval(prompt[keep:])
        first = sampler.sample(llm._ctx, -1)
        prompted = time.perf_counter()
        if self._prefix_store is not None and self._prefix_tokens and isinstance(drafter, Drafter):
            key = prefix_key(model_digest(self.draft_path()), self._prefix_tokens, self.prefix_settings())
            self._prefix_store.warm(drafter.llm, self._prefix_tokens, key)
        drafter.catch_up(prompt)
        caught_up = time.perf_counter()
        tokens, finish, stats = speculative_generate(
            llm, drafter, controller, sampler, first, max_tokens,
            lambda token: llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))
        stats.prompt_s, stats.draft_prompt_s = prompted - started, caught_up - prompted
        stats.decode_s = time.perf_counter() - prompted
        self.last_speculation = stats
        if controller is self._controller and self._controller_file is not None:  # for the next process
            save_controller(self._controller_file, self._controller)
        text = llm.detokenize(tokens, prev_tokens=prompt).decode("utf-8", errors="ignore")
        return text, finish, len(tokens)


def reply_grammar(schema: dict[str, Any] | None, code_block: str | None):
    """The grammar a reply follows: the schema's JSON, after a fenced code block when one is asked
    for; None for free text."""
    if code_block and schema is None:
        raise EngineError("code_block needs a schema for the JSON that follows the code")
    # never sort_keys: the grammar writes properties in the schema's order, which the caller chose
    return grammar_for(json.dumps(schema), code_block) if schema else None


def finished(reply: Reply, finish_reason: str, grammar_schema: dict[str, Any] | None, code_block: str | None,
             tools: list[ToolSpec] | None, max_tokens: int) -> Reply:
    """The reply, parsed when a schema constrained it; ReplyTruncated when it was cut before
    its JSON closed, EngineError when it is not what the grammar promised."""
    if grammar_schema is None:
        return reply
    if finish_reason == "length":
        raise ReplyTruncated(f"the reply was cut at max_tokens={max_tokens} before its JSON was complete; "
                             "raise max_tokens or ask for a shorter answer", reply.text)
    return parse_structured(reply, reply.text, code_block, tools)
