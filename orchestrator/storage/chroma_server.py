"""A Chroma server on loopback, started for the length of a job and stopped after it.

The embedded store admits one writing process; a job spread over several processes (Ray
workers, tests of sharing) serves the home's store through `chroma run` instead, which then is
its one writer, and every process is its client.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..errors import ConfigError
from .store import WriterLock

START_TIMEOUT_S = 60.0


class ChromaServer:
    """`with ChromaServer(folder) as url:` serves the Chroma folder `folder` on a free loopback
    port until the block ends."""

    def __init__(self, folder: Path, start_timeout_s: float = START_TIMEOUT_S):
        self.folder = Path(folder)
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen | None = None
        self._lock: WriterLock | None = None

    def __enter__(self) -> str:
        # The server becomes the folder's one writer: no embedded client may write it meanwhile.
        self._lock = WriterLock(self.folder)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.folder.mkdir(parents=True, exist_ok=True)
        chroma = Path(sys.executable).with_name("chroma")
        self._process = subprocess.Popen([str(chroma), "run", "--path", str(self.folder), "--host", "127.0.0.1",
                                          "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.__exit__()
                raise ConfigError(f"the Chroma server for {self.folder} did not start on {url} within "
                                  f"{self.start_timeout_s:.0f} s (is the folder open in another process?)")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
