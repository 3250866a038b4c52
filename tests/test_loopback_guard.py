"""The suite's loopback guard (tests/conftest.py) itself: it refuses the outside and lets loopback through."""

from __future__ import annotations

import socket

import pytest


def test_outside_names_and_addresses_are_refused(loopback_only):
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("github.com", 443)
    with pytest.raises(OSError, match="loopback only"), socket.socket() as sock:
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: documentation only, refused before any packet
    assert loopback_only == ["github.com", "192.0.2.1"]
    loopback_only.clear()  # seen: this test made the attempts on purpose


def test_loopback_and_address_literals_pass(loopback_only, server):
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("10.1.2.3", 80)  # a literal asks no one; the fetcher resolves it to refuse it
    server.route("/ok", b"ok")
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5):
        pass
    assert loopback_only == []
