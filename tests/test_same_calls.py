"""bench/same_calls.py: a machine's speed against another's, from calls two runs made alike."""
import json

from bench.same_calls import main, same_call_ratios


def test_only_calls_with_the_same_message_and_reply_are_compared():
    first = [{"asked": "a", "reply": "x", "s": 2.0}, {"asked": "b", "reply": "y", "s": 1.0}]
    second = [{"asked": "a", "reply": "x", "s": 5.0},  # alike: 2.5 times as long
              {"asked": "b", "reply": "other", "s": 9.0},  # another reply: other work
              {"asked": "c", "reply": "x", "s": 1.0}]  # never asked in the first run
    assert same_call_ratios(first, second) == [2.5]


def test_runs_with_no_call_alike_say_so(tmp_path, capsys):
    for name, call in (("a.jsonl", {"asked": "a", "reply": "x", "s": 1.0}),
                       ("b.jsonl", {"asked": "b", "reply": "x", "s": 1.0})):
        (tmp_path / name).write_text(json.dumps(call) + "\n")
    assert main([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]) == 1
    assert "no call was made alike" in capsys.readouterr().err
