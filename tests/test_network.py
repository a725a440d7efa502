"""Nothing reaches the network: a cold image classify (ONNX export + int8 build + run) under strace, native
threads included (ONNX Runtime's telemetry uploader resolves its host from C++ threads the Python socket guard
in conftest.py cannot see)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_INET6?), (?:sin6?_port=htons\((\d+)\), )?.*?"
                      r"(?:inet_addr\(\"([^\"]+)\"\)|inet_pton\(AF_INET6, \"([^\"]+)\")")


def outside_connections(trace: str) -> list[str]:
    """The connect() calls of an ``strace -f -e trace=connect`` log that go to a non-loopback address."""
    out = []
    for line in trace.splitlines():
        m = _CONNECT.search(line)
        if m:
            addr = m.group(3) or m.group(4) or ""
            if not (addr.startswith("127.") or addr in ("::1", "::ffff:127.0.0.1")):
                out.append(line.strip())
    return out


def test_the_trace_parser_sees_dns_and_ignores_loopback() -> None:
    dns = ('1 connect(12, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0\n'
           '2 connect(3, {sa_family=AF_INET, sin_port=htons(8000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
           '3 connect(9, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT\n'
           '4 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
           'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1\n')
    assert [line.split()[0] for line in outside_connections(dns)] == ["1", "4"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (apt-get install strace)")
def test_a_cold_image_classify_makes_no_network_connection(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (32, 32), (80 * i, 40, 200 - 60 * i)).save(folder / f"{i}.png")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}  # transzero must set it itself
    env["TRANSZERO_CACHE_DIR"] = str(tmp_path / "cache")  # cold: the ONNX export and the int8 build run too
    trace = tmp_path / "trace.txt"
    cmd = ["strace", "-f", "-e", "trace=connect", "-e", "signal=none", "-o", str(trace), sys.executable, "-m",
           "transzero.cli", "classify", str(tmp_path / "imgs"), "--labels", "cat,dog", "--encoder",
           "efficientnet-lite0", "-o", str(tmp_path / "p.csv"), "--quiet"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0 and "ptrace" in res.stderr:
        pytest.skip(f"strace cannot trace here: {res.stderr.strip()[:200]}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 4
    assert outside_connections(trace.read_text()) == []
