"""seglam serve on loopback, called as another process would: keys bound to namespaces on every
endpoint, errors as JSON with the right status, metrics, a request id on every response."""
from __future__ import annotations

import socket
import threading

import httpx
import pytest
import uvicorn

from orchestrator import Draft, ProcedureTest, Seglam
from orchestrator.service.app import create_app
from orchestrator.service.keys import ADMIN, KeyStore

TASK = "Convert the amount into euros at the rate"
HALVE = {"intent": "Convert the amount into euros at the rate", "name": "to_eur",
         "code": "def solve(amount, rate):\n    return round(amount * rate, 2)\n",
         "params": {"amount": "number", "rate": "number"}, "returns": {"type": "number"},
         "tests": [{"inputs": {"amount": 3, "rate": 0.5}, "expected": 1.5}, {"inputs": {"amount": 8, "rate": 0.25}, "expected": 2.0}]}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    home = tmp_path_factory.mktemp("service")
    keys = KeyStore(home / "keys.sqlite3")
    with Seglam.open(home / "home") as seglam:
        for namespace in ("alpha", "beta"):
            seglam.add_procedure(Draft(
                name="to_eur", intent=TASK, params={"amount": "number", "rate": "number"}, returns={"type": "number"},
                code="def solve(amount, rate):\n    return round(amount * rate, 2)\n",
                tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), namespace)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(seglam, keys, home / "batches", max_body_bytes=10_000), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            thread.join(0.05)
        keys_by_name = {"alpha": keys.create("alpha")[1], "beta": keys.create("beta")[1], "admin": keys.create(ADMIN)[1]}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, keys_by_name, keys, seglam
        server.should_exit = True
        thread.join(10)
    keys.close()


def auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_a_key_runs_requests_of_its_namespace(service):
    client, keys, _, _ = service
    reply = client.post("/v1/run", json={"task": TASK, "inputs": {"amount": 100, "rate": 0.92}, "namespace": "alpha"},
                        headers=auth(keys["alpha"]))
    assert reply.status_code == 200 and reply.json()["answer"] == 92.0 and reply.json()["route"] == "hit"
    assert len(reply.headers["X-Request-Id"]) == 16
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("method, path, body", [
    ("post", "/v1/run", {"task": TASK, "inputs": {"amount": 1, "rate": 1}, "namespace": "beta"}),
    ("get", "/v1/procedures?namespace=beta", None),
    ("get", "/v1/procedures/{id}?namespace=beta", None),
    ("post", "/v1/procedures/{id}/report", {"reason": "wrong", "namespace": "beta"}),
    ("post", "/v1/procedures/{id}/retire?namespace=beta", None),
    ("post", "/v1/procedures/{id}/restore?namespace=beta", None),
    ("get", "/v1/procedures/{id}/history?namespace=beta", None),
    ("get", "/v1/procedures/{id}/diff?namespace=beta&from=1&to=1", None),
    ("post", "/v1/procedures", {**HALVE, "namespace": "beta"}),
    ("post", "/v1/procedures/{id}/fix", {**HALVE, "namespace": "beta"}),
    ("post", "/v1/kb", {"source": "guide", "text": "Rates are euros per unit.", "namespace": "beta"}),
    ("get", "/v1/kb/search?query=rate&namespace=beta", None),
    ("post", "/v1/batches", {"task": TASK, "inputs": [{"amount": 1, "rate": 1}], "namespace": "beta"}),
    ("get", "/v1/batches/{batch}", None),
    ("get", "/metrics", None),
])
def test_every_endpoint_refuses_a_missing_key_and_another_namespaces_key(service, method, path, body):
    client, keys, _, seglam = service
    path = path.replace("{id}", seglam.list_procedures("beta")[0].id)
    if "{batch}" in path:
        submitted = client.post("/v1/batches", json={"task": TASK, "inputs": [{"amount": 1, "rate": 1}],
                                                      "namespace": "beta"}, headers=auth(keys["beta"]))
        path = path.replace("{batch}", submitted.json()["batch_id"])
    call = getattr(client, method)
    kwargs = {"json": body} if body is not None else {}
    assert call(path, **kwargs).status_code == 401
    assert call(path, headers=auth("sgl_forged"), **kwargs).status_code == 401
    refused = call(path, headers=auth(keys["alpha"]), **kwargs)
    assert refused.status_code == 403
    assert ("not '*'" if path == "/metrics" else "not 'beta'") in refused.json()["detail"]
    assert seglam.procedure(seglam.list_procedures("beta")[0].id, "beta").status == "verified"  # nothing changed


def test_errors_are_json_with_the_status_a_client_acts_on(service):
    client, keys, store, _ = service
    malformed = client.post("/v1/run", json={"inputs": {}}, headers=auth(keys["alpha"]))
    assert malformed.status_code == 422 and "task" in malformed.text
    bad_name = client.post("/v1/run", json={"task": TASK, "inputs": {"bad name": 1}, "namespace": "alpha"},
                           headers=auth(keys["alpha"]))
    assert bad_name.status_code == 422 and "input name 'bad name' is not valid" in bad_name.json()["error"]
    too_big = client.post("/v1/run", json={"task": TASK, "inputs": {"text": "x" * 20_000}, "namespace": "alpha"},
                          headers=auth(keys["alpha"]))
    assert too_big.status_code == 413 and "over the limit" in too_big.json()["error"]
    missing = client.get("/v1/procedures/nope?namespace=alpha", headers=auth(keys["alpha"]))
    assert missing.status_code == 404
    key, secret = store.create("alpha")
    store.revoke(key.key_id)
    assert client.get("/v1/procedures?namespace=alpha", headers=auth(secret)).status_code == 401


def test_an_admin_key_reads_every_namespace_and_the_metrics(service):
    client, keys, _, _ = service
    client.post("/v1/run", json={"task": TASK, "inputs": {"amount": 2, "rate": 2}, "namespace": "beta"},
                headers=auth(keys["beta"]))
    assert len(client.get("/v1/procedures?namespace=beta", headers=auth(keys["admin"])).json()) == 1
    metrics = client.get("/metrics", headers=auth(keys["admin"])).text
    assert 'seglam_requests_total{route="hit"}' in metrics and "seglam_request_seconds_bucket" in metrics
    assert 'seglam_procedures{status="verified"}' in metrics


def test_keys_are_made_listed_and_revoked_from_the_command_line(tmp_path, capsys):
    from orchestrator.cli import main

    home = ["--home", str(tmp_path)]
    assert main(home + ["keys", "create", "--namespace", "alpha"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("sgl_")
    assert main(home + ["keys", "create"]) == 2 and "--namespace NS, or --admin" in capsys.readouterr().err
    assert main(home + ["keys", "list"]) == 0
    key_id = capsys.readouterr().out.split()[0]
    assert secret not in (tmp_path / "service-keys.sqlite3").read_bytes().decode(errors="ignore")  # kept hashed
    assert main(home + ["keys", "revoke", key_id]) == 0 and "revoked" in capsys.readouterr().out
    assert KeyStore(tmp_path / "service-keys.sqlite3").find(secret) is None


def test_the_command_line_runs_and_reviews_through_the_service(service, capsys):
    from orchestrator.cli import main

    client, keys, _, seglam = service
    remote = ["--server", str(client.base_url), "--api-key", keys["alpha"]]
    assert main(remote + ["run", TASK, "--input", "amount=10", "--input", "rate=0.25", "--namespace", "alpha"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "2.5" and "[hit]" in captured.err
    assert main(remote + ["procedures", "list", "--namespace", "alpha"]) == 0
    procedure_id = seglam.list_procedures("alpha")[0].id
    assert procedure_id in capsys.readouterr().out
    assert main(remote + ["procedures", "show", procedure_id, "--namespace", "alpha"]) == 0
    assert "round(amount * rate, 2)" in capsys.readouterr().out
    assert main(remote + ["procedures", "list", "--namespace", "beta"]) == 2
    assert "the service answered 403: this key is for namespace 'alpha'" in capsys.readouterr().err
    assert main(["--server", "http://127.0.0.1:9", "run", TASK]) == 2
    assert "cannot reach the seglam service" in capsys.readouterr().err


def test_the_command_line_of_a_home_goes_through_the_service_running_over_it(tmp_path, capsys):
    """While `seglam serve` owns a home's store, `seglam run` and `procedures list` of that home
    (no --server, no key) go through it instead of being refused; stopped, it leaves no record."""
    import signal
    import stat

    from bench.hits import start_service
    from orchestrator.cli import main
    from orchestrator.service.presence import find, record_path

    home = tmp_path / "home"
    with Seglam.open(home) as seglam:
        seglam.add_procedure(Draft(name="to_eur", intent=TASK, params={"amount": "number", "rate": "number"},
                                   returns={"type": "number"}, code=HALVE["code"],
                                   tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), "demo")
    local = ["--home", str(home)]
    process, _, _ = start_service(home)
    try:
        assert stat.S_IMODE(record_path(home).stat().st_mode) == 0o600  # the owner's token, the owner's eyes
        assert find(home).pid == process.pid
        assert main(local + ["run", TASK, "--input", "amount=10", "--input", "rate=0.5", "--namespace", "demo"]) == 0
        captured = capsys.readouterr()
        assert captured.out.strip() == "5.0" and "[hit]" in captured.err
        assert main(local + ["procedures", "list", "--namespace", "other"]) == 0  # the owner reads every namespace
        assert main(local + ["procedures", "list", "--namespace", "demo"]) == 0
        assert "to_eur" in capsys.readouterr().out
        assert main(local + ["procedures", "retire", "to_eur", "--namespace", "demo"]) == 2  # changes stay local
        assert "open for writing" in capsys.readouterr().err
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert find(home) is None and not record_path(home).exists()
    assert main(local + ["run", TASK, "--input", "amount=4", "--input", "rate=0.5", "--namespace", "demo"]) == 0
    assert capsys.readouterr().out.strip() == "2.0"  # the local store again

    record_path(home).write_text('{"url": "http://127.0.0.1:9", "token": "t", "pid": %d}' % process.pid)
    assert find(home) is None  # a record left by a killed service is ignored


def test_concurrent_misses_of_one_kind_through_the_service_synthesize_once(tmp_path):
    """Eight agents ask for the same new kind of request at once: one synthesis, eight answers."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tests.scripted import ScriptedSynthesizer, draft

    class Slow(ScriptedSynthesizer):
        def synthesize(self, request, retrieved, feedback):
            time.sleep(0.5)  # the others arrive while this one compiles
            return super().synthesize(request, retrieved, feedback)

    task = "Double the number"
    synthesizer = Slow([draft("def solve(x):\n    return x * 2\n", [({"x": 2}, 4), ({"x": 5}, 10), ({"x": -3}, -6)], name="double",
                              intent=task, params={"x": "number"})])
    keys = KeyStore(tmp_path / "keys.sqlite3")
    with Seglam.open(tmp_path / "home", synthesizer=synthesizer) as seglam:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(seglam, keys, tmp_path / "batches"), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            thread.join(0.05)
        secret = keys.create("agents")[1]

        def ask(x):
            return httpx.post(f"http://127.0.0.1:{port}/v1/run", headers=auth(secret), timeout=60,
                              json={"task": task, "inputs": {"x": x}, "namespace": "agents"}).json()

        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(ask, range(8)))
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=auth(keys.create(ADMIN)[1])).text
        server.should_exit = True
        thread.join(10)
    keys.close()
    assert [reply["answer"] for reply in replies] == [x * 2 for x in range(8)], [r["error"] for r in replies]
    assert len(synthesizer.calls) == 1
    assert sorted(reply["route"] for reply in replies).count("miss") == 1
    assert 'seglam_model_calls_total{kind="synthesize"} 1.0' in metrics


def test_procedures_are_added_fixed_and_reviewed_version_by_version_over_http(service):
    client, keys, _, _ = service
    alpha = auth(keys["alpha"])
    added = client.post("/v1/procedures", json={**HALVE, "name": "word_count", "intent": "Count the words of the text",
                                                 "code": "def solve(text):\n    return len(text.split())\n",
                                                 "params": {"text": "string"}, "returns": {"type": "integer"},
                                                 "tests": [{"inputs": {"text": "a b c"}, "expected": 3}],
                                                 "namespace": "alpha"}, headers=alpha)
    assert added.status_code == 200, added.text
    procedure_id = added.json()["id"]
    wrong = client.post(f"/v1/procedures/{procedure_id}/fix", headers=alpha, json={
        **HALVE, "intent": "Count the words of the text", "code": "def solve(text):\n    return 0\n",
        "params": {"text": "string"}, "returns": {"type": "integer"},
        "tests": [{"inputs": {"text": "a b"}, "expected": 2}], "namespace": "alpha"})
    assert wrong.status_code == 422 and "expected 2 but solve returned 0" in " ".join(wrong.json()["problems"])
    fixed = client.post(f"/v1/procedures/{procedure_id}/fix", headers=alpha, json={
        **HALVE, "intent": "Count the words of the text", "code": "def solve(text):\n    return len(text.split(' '))\n",
        "params": {"text": "string"}, "returns": {"type": "integer"},
        "tests": [{"inputs": {"text": "a b"}, "expected": 2}], "namespace": "alpha"})
    assert fixed.status_code == 200 and fixed.json()["version"] == 2
    versions = client.get(f"/v1/procedures/{procedure_id}/history?namespace=alpha", headers=alpha).json()
    assert [v["version"] for v in versions] == [1, 2]
    diff = client.get(f"/v1/procedures/{procedure_id}/diff?namespace=alpha&from=1&to=2", headers=alpha).json()["diff"]
    assert "-        return len(text.split())" in diff and "+        return len(text.split(' '))" in diff


def test_documents_are_indexed_and_searched_over_http(service):
    client, keys, _, _ = service
    alpha = auth(keys["alpha"])
    text = "Exchange rates are euros per unit of the invoice currency.\n\nTotals follow the word Total on the invoice."
    assert client.post("/v1/kb", json={"source": "guide", "text": text, "namespace": "alpha"}, headers=alpha).json() == \
        {"source": "guide", "chunks": 1}
    found = client.get("/v1/kb/search?query=exchange%20rate&namespace=alpha&limit=1", headers=alpha).json()
    assert found[0]["source"] == "guide" and "Exchange rates" in found[0]["text"]


def test_a_batch_runs_in_the_background_and_its_results_are_polled_as_they_come(service):
    import time

    client, keys, _, _ = service
    alpha = auth(keys["alpha"])
    inputs = [{"amount": amount, "rate": 0.5} for amount in range(40)] + [{"bad name": 1}]
    submitted = client.post("/v1/batches", json={"task": TASK, "inputs": inputs, "namespace": "alpha"}, headers=alpha)
    assert submitted.status_code == 202 and submitted.json()["total"] == 41
    batch_id, seen = submitted.json()["batch_id"], []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polled = client.get(f"/v1/batches/{batch_id}?after={len(seen)}", headers=alpha).json()
        seen += polled["results"]
        if polled["state"] == "done" and len(seen) == polled["total"]:
            break
        time.sleep(0.1)
    assert polled["answered"] == 40 and polled["errors"] == 1
    answers = {result["index"]: result["answer"] for result in seen}
    assert answers == {**{amount: round(amount * 0.5, 2) for amount in range(40)}, 40: None}
    assert client.get("/v1/batches/nope", headers=alpha).status_code == 404


def test_a_batch_a_killed_service_left_unfinished_is_finished_when_it_starts_again(tmp_path):
    """seglam serve killed (SIGKILL) in the middle of a batch: started again, it runs only what
    was not answered, and every request ends with one result, the right one."""
    import os
    import signal
    import time

    from bench.hits import start_service

    home = tmp_path / "home"
    with Seglam.open(home) as seglam:
        seglam.add_procedure(Draft(name="to_eur", intent=TASK, params={"amount": "number", "rate": "number"},
                                   returns={"type": "number"}, code=HALVE["code"],
                                   tests=[ProcedureTest({"amount": 10, "rate": 0.5}, 5.0)]), "demo")

    def poll(base: str, secret: str, batch_id: str) -> dict:
        return httpx.get(f"{base}/v1/batches/{batch_id}", headers=auth(secret), timeout=30).json()

    inputs = [{"amount": amount, "rate": 0.5} for amount in range(3000)]
    process, base, secret = start_service(home)
    try:
        batch_id = httpx.post(f"{base}/v1/batches", json={"task": TASK, "inputs": inputs, "namespace": "demo"},
                              headers=auth(secret), timeout=30).json()["batch_id"]
        deadline = time.monotonic() + 120
        while poll(base, secret, batch_id)["done"] < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        process, base, secret = start_service(home)
        deadline = time.monotonic() + 180
        while (status := poll(base, secret, batch_id))["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(30)
    results = status["results"]
    assert status["done"] == len(results) == len(inputs)
    assert sorted(result["index"] for result in results) == list(range(len(inputs)))  # each once
    assert all(result["answer"] == round(inputs[result["index"]]["amount"] * 0.5, 2) for result in results)
