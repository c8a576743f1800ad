"""The engine's second opinions: one call for all the questions about a draft."""
from __future__ import annotations

from engine.base import EngineError, Reply
from orchestrator.prompts.rechecker import EngineRechecker


class ScriptedEngine:
    model_id = "scripted@0"

    def __init__(self, data):
        self.data, self.asked = data, []

    def chat(self, messages, tools=None, schema=None, max_tokens=1024, temperature=0.0, code_block=None):
        self.asked.append((messages[-1]["content"], schema, max_tokens))
        if isinstance(self.data, Exception):
            raise self.data
        return Reply(text="", data=self.data)


def test_several_questions_are_asked_in_one_call_and_answered_in_order():
    engine = ScriptedEngine({"answers": ["=1 + 1", 3, None]})
    opinions = EngineRechecker(engine).work_out_all("add up", [{"x": [1, 1]}, {"x": [3]}, {"x": []}])
    assert [opinion.answer for opinion in opinions] == ["=1 + 1", 3, None]
    assert sum(opinion.model_calls for opinion in opinions) == 1 and len(engine.asked) == 1
    asked, schema, budget = engine.asked[0]
    assert asked == 'Task: add up\n1. inputs: {"x": [1, 1]}\n2. inputs: {"x": [3]}\n3. inputs: {"x": []}'
    assert schema["properties"]["answers"]["minItems"] == schema["properties"]["answers"]["maxItems"] == 3
    assert budget == 3 * 160


def test_one_question_is_asked_as_before():
    engine = ScriptedEngine({"answer": "Monday"})
    assert EngineRechecker(engine).work_out("which weekday?", {"date": "2024-07-01"}).answer == "Monday"
    assert engine.asked[0][0] == 'Task: which weekday?; inputs: {"date": "2024-07-01"}'


def test_a_failed_call_leaves_every_question_without_an_opinion_for_one_call():
    for data, reason in [(EngineError("out of memory"), "the engine failed: out of memory"),
                         ({"answer": 1}, "not the JSON object asked for")]:
        opinions = EngineRechecker(ScriptedEngine(data)).work_out_all("add up", [{"x": [1]}, {"x": [2]}])
        assert all(opinion.answer is None and reason in opinion.reason for opinion in opinions)
        assert sum(opinion.model_calls for opinion in opinions) == 1
    assert EngineRechecker(ScriptedEngine({})).work_out_all("add up", []) == []
