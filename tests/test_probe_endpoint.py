"""contam.probe.endpoint against two servers started here on 127.0.0.1 and stopped after:

- llama-cpp-python's real OpenAI-compatible server (``python -m llama_cpp.server``) with the
  SmolLM2 GGUF: the protocol, the start token, and what that server computes;
- a reference server written here (stdlib ``http.server``) that answers ``/completions``
  with the OpenAI semantics vLLM implements, from the tiny GPT-2: the numbers must equal the
  transformers backend's, with and without a server-side BOS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from test_probe_helpers import require, smollm2_gguf, tiny_model_dir

from contam.errors import ModelError
from contam.probe.backends import open_backend
from contam.probe.config import ModelConfig
from contam.probe.endpoint import EndpointBackend
from contam.probe.hf import TransformersBackend
from contam.probe.llamacpp import LlamaCppBackend

TEXTS = [
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "What is the sum of seven and five? Twelve.",
    "Q",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# the reference server -----------------------------------------------------------------------


class Reference:
    """OpenAI /v1/completions with echo and logprobs, computed from the tiny GPT-2."""

    def __init__(self, adds_bos: bool) -> None:
        self.torch = require("torch")
        self.backend = open_backend(ModelConfig(str(tiny_model_dir())))
        assert isinstance(self.backend, TransformersBackend)
        self.adds_bos = adds_bos

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        assert body["echo"] is True and body["logprobs"] >= 1 and body["max_tokens"] == 1
        tok = self.backend.tokenizer
        ids = tok(body["prompt"], add_special_tokens=False).input_ids  # parses <|endoftext|>
        ids = [0, *ids] if self.adds_bos else ids
        with self.torch.no_grad():
            logits = self.backend.model(self.torch.tensor([ids])).logits[0].double()
        logp = self.torch.log_softmax(logits, -1)
        values: list[float | None] = [None]
        values += [float(logp[i - 1, ids[i]]) for i in range(1, len(ids))]
        generated = int(logp[-1].argmax())
        values.append(float(logp[-1, generated]))
        tokens = [tok.decode([i]) for i in [*ids, generated]]
        return {
            "choices": [{"text": body["prompt"], "logprobs": {"tokens": tokens,
                         "token_logprobs": values}}],
            "usage": {"prompt_tokens": len(ids), "completion_tokens": 1},
        }  # fmt: skip


def serve(reference: Reference) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/completions":
                self.send_error(404)
                return
            if body["prompt"] == "fail":
                answer, code = b'{"error": "prompt says fail"}', 400
            else:
                answer, code = json.dumps(reference.complete(body)).encode(), 200
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def plain_server() -> Iterator[str]:
    """A server that puts nothing before the prompt (as llama.cpp for SmolLM2)."""
    yield from serve(Reference(adds_bos=False))


@pytest.fixture(scope="module")
def bos_server() -> Iterator[str]:
    """A server that puts the BOS (here <|endoftext|>) first (as vLLM for Llama)."""
    yield from serve(Reference(adds_bos=True))


def local_scores(texts: list[str]) -> list[np.ndarray]:
    return [s.logprobs for s in open_backend(ModelConfig(str(tiny_model_dir()))).score(texts)]


def test_endpoint_with_start_token_equals_local_backend(plain_server: str) -> None:
    backend = open_backend(ModelConfig("tiny", endpoint=plain_server, start_token="<|endoftext|>"))
    assert isinstance(backend, EndpointBackend) and backend.prefix_tokens == 1
    assert backend.vocab_stats is False
    got = backend.score(TEXTS)
    for scored, want in zip(got, local_scores(TEXTS), strict=True):
        assert scored.mu is None and scored.tokens == len(want)
        assert np.abs(scored.logprobs - want).max() < 1e-5


def test_endpoint_with_server_bos_equals_local_backend(bos_server: str) -> None:
    backend = open_backend(ModelConfig("tiny", endpoint=bos_server))
    for scored, want in zip(backend.score(TEXTS), local_scores(TEXTS), strict=True):
        assert np.abs(scored.logprobs - want).max() < 1e-5
    assert backend.score([""])[0].tokens == 0


def test_endpoint_without_any_start_token_refuses(plain_server: str) -> None:
    backend = open_backend(ModelConfig("tiny", endpoint=plain_server))
    with pytest.raises(ModelError, match=r"put no start token before the text.*--start-token"):
        backend.score(TEXTS[:1])


def test_endpoint_errors_are_one_line(plain_server: str) -> None:
    backend = EndpointBackend(ModelConfig("tiny", endpoint=plain_server))
    with pytest.raises(ModelError, match=r"answered 400: \{\"error\": \"prompt says fail\"\}"):
        backend.score(["fail"])
    with pytest.raises(ModelError, match="cannot be reached"):
        EndpointBackend(ModelConfig("m", endpoint=f"http://127.0.0.1:{free_port()}/v1",
                                    start_token="<|endoftext|>"))  # fmt: skip


# llama-cpp-python's server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    require("llama_cpp")
    require("uvicorn")  # llama-cpp-python[server]
    gguf = smollm2_gguf()
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512",
               "--n_threads", "1", "--verbose", "False"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"llama_cpp.server did not start: {err[-500:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_llama_cpp_server_start_token_and_token_counts(llama_server: str) -> None:
    local = open_backend(ModelConfig(str(smollm2_gguf()), threads=1))
    assert isinstance(local, LlamaCppBackend)
    remote = open_backend(
        ModelConfig("smollm2", endpoint=llama_server, start_token="<|endoftext|>")
    )
    assert isinstance(remote, EndpointBackend) and remote.prefix_tokens == 1
    got, want = remote.score(TEXTS), local.score(TEXTS)
    assert [s.tokens for s in got] == [s.tokens for s in want]
    # SmolLM2's GGUF adds no BOS, and the server adds none: refused without --start-token
    with pytest.raises(ModelError, match="put no start token"):
        open_backend(ModelConfig("smollm2", endpoint=llama_server)).score(TEXTS[:1])


def test_llama_cpp_server_scores_each_token_one_position_late(llama_server: str) -> None:
    # llama-cpp-python 0.3.x pairs prompt token i with the distribution computed *after*
    # it (the one that predicts token i + 1): its echo log-probs are not p(token | prefix).
    # The endpoint backend passes through what the server says; this pins what that is, so
    # the README's warning is re-checked when the server changes.
    local = open_backend(ModelConfig(str(smollm2_gguf()), threads=1))
    assert isinstance(local, LlamaCppBackend)
    remote = open_backend(
        ModelConfig("smollm2", endpoint=llama_server, start_token="<|endoftext|>")
    )
    text = TEXTS[0]
    seq = local.tokenize([text])[0]
    local.llm.reset()
    local.llm.eval(seq)
    logits = np.array(local.llm.scores[: len(seq)], dtype=np.float64)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    shifted = np.array([logp[i, seq[i]] for i in range(1, len(seq))])
    correct = np.array([logp[i - 1, seq[i]] for i in range(1, len(seq))])
    got = remote.score([text])[0].logprobs
    assert np.abs(got - shifted).max() < 1e-3
    assert np.abs(got - correct).mean() > 1.0
