"""The real Pub/Sub emulator, for tests and benchmarks: started on a free loopback port, stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_EMULATOR = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
EMULATOR = Path(os.environ.get("PUBSUB_EMULATOR_BIN", DEFAULT_EMULATOR))
INSTALL_HINT = ("the Pub/Sub emulator is not installed ({path}); install it with `gcloud components install "
                "pubsub-emulator` or the `google-cloud-cli-pubsub-emulator` apt package")
PROJECT = "sitrep-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PubSubEmulator:
    """One emulator process on 127.0.0.1; `host` is what PUBSUB_EMULATOR_HOST must say to reach it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> PubSubEmulator:
        self.log = []
        self.process = subprocess.Popen(
            [str(EMULATOR), "--host=127.0.0.1", f"--port={self.port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        started = threading.Event()

        def read() -> None:
            # Drain the output for the whole life of the process, so a chatty emulator never blocks on a pipe.
            for line in self.process.stdout:
                self.log.append(line)
                if "Server started" in line:
                    started.set()

        threading.Thread(target=read, daemon=True).start()
        if not started.wait(timeout):
            self.stop()
            raise RuntimeError(f"Pub/Sub emulator did not start in {timeout}s:\n{''.join(self.log[-20:])}")
        return self

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): requests hang as they do when the service is unreachable."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGCONT)
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


def unique_id(prefix: str) -> str:
    """A topic or subscription id no other test uses (ids need at least 3 characters)."""
    return f"{prefix}-{time.monotonic_ns()}"


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Whether `predicate` came true within `timeout` seconds (polled every `interval`)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
