"""The stored classifiers shared by several processes: versions behind one link, a write lock per name, readers that
notice every write, writers that never lose one, and nothing lost to a killed writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from transzero.classifier import ZeroShotClassifier
from transzero.errors import SavedModelError
from transzero.locks import FileLock
from transzero.serve.store import ClassifierStore, StudioState

from ..conftest import KeywordEncoder

LABELS = ["sports", "politics", "technology"]


@pytest.fixture(scope="module")
def clf() -> ZeroShotClassifier:
    return ZeroShotClassifier(LABELS, encoder=KeywordEncoder(), cache=False).fit()


def _state(n: int = 0) -> StudioState:
    return StudioState(labels=LABELS, encoder="test-keywords",
                       examples=[{"item": f"goal {i}", "label": "sports"} for i in range(n)])


def _entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name != ".locks")


def test_each_write_is_a_new_version_behind_one_link(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    store = ClassifierStore(tmp_path)
    for n in range(1, 4):
        store.put("p", clf, _state(n))
    link = tmp_path / "p"
    assert link.is_symlink() and os.readlink(link) == ".p.v000003"  # relative: the store can be mounted anywhere
    assert _entries(tmp_path) == [".p.v000002", ".p.v000003", "p"]  # the previous one is kept for readers
    assert json.loads((link / "studio.json").read_text())["version"] == 3 and store.version("p") == 3
    assert store.names() == ["p"] and len(store.get("p")[1].examples) == 3
    # a saved classifier like any other, through the link
    assert ZeroShotClassifier.load(link).classes_.tolist() == LABELS
    store.delete("p")
    assert _entries(tmp_path) == [] and store.names() == []
    with pytest.raises(KeyError):
        store.get("p")


def test_another_process_sees_every_write_on_its_next_read(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    a, b = ClassifierStore(tmp_path), ClassifierStore(tmp_path)  # two replicas' stores: separate memory and locks
    a.put("p", clf, _state(1))
    assert len(b.get("p")[1].examples) == 1
    for n in range(2, 6):  # writes faster than a file system's clock ticks are still seen
        a.put("p", clf, _state(n))
        got = b.get("p")[1]
        assert len(got.examples) == n and got.version == n
    b.delete("p")
    with pytest.raises(KeyError):
        a.get("p")


def test_read_change_write_from_two_stores_loses_nothing(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    stores = [ClassifierStore(tmp_path), ClassifierStore(tmp_path)]
    stores[0].put("p", clf, _state(0))

    def add(store: ClassifierStore, t: int) -> None:
        for i in range(10):
            with store.writing("p"):
                _, state = store.get("p")
                state.examples.append({"item": f"goal {t} {i}", "label": "sports"})
                time.sleep(0.001)  # widen the window a lost update would need
                store.put("p", clf, state)

    threads = [threading.Thread(target=add, args=(stores[t % 2], t)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    state = stores[1].get("p")[1]
    assert len(state.examples) == 60 and len({e["item"] for e in state.examples}) == 60
    assert state.version == 61


def test_what_a_killed_writer_leaves_is_ignored_then_cleaned(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    store = ClassifierStore(tmp_path)
    store.put("p", clf, _state(1))
    # killed after saving version 2 but before the link moved, and while building version 3 in a temporary folder
    clf.save(tmp_path / ".p.v000002", extras={"studio.json": _state(7).to_json()})
    (tmp_path / "..p.v000003.abc123.tmp").mkdir()
    (tmp_path / ".p.link-0123abcd").symlink_to(".p.v000002")
    other = tmp_path / ".pp.v000001"  # another classifier's version ("pp") is not p's to clean
    other.mkdir()
    assert len(ClassifierStore(tmp_path).get("p")[1].examples) == 1  # readers see the last finished write
    store.put("p", clf, _state(2))
    assert _entries(tmp_path) == [".p.v000001", ".p.v000002", ".pp.v000001", "p"]
    assert len(ClassifierStore(tmp_path).get("p")[1].examples) == 2


def test_a_folder_from_an_older_store_becomes_version_zero(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    clf.save(tmp_path / "old", extras={"studio.json": _state(1).to_json()})  # how earlier versions stored it
    store = ClassifierStore(tmp_path)
    assert store.version("old") == 0 and len(store.get("old")[1].examples) == 1
    store.put("old", clf, _state(2))
    assert os.readlink(tmp_path / "old") == ".old.v000001" and (tmp_path / ".old.v000000" / "config.json").is_file()
    assert len(ClassifierStore(tmp_path).get("old")[1].examples) == 2


def test_a_link_out_of_the_store_is_refused(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    outside = tmp_path / "elsewhere"
    clf.save(outside)
    root = tmp_path / "store"
    root.mkdir()
    (root / "evil").symlink_to(outside)
    with pytest.raises(SavedModelError, match="not one of its versions"):
        ClassifierStore(root).get("evil")


def test_a_write_waits_for_another_and_gives_up_with_one_line(tmp_path: Path, clf: ZeroShotClassifier) -> None:
    from transzero.errors import InputError

    store = ClassifierStore(tmp_path, lock_timeout=0.3)
    store.put("p", clf, _state(0))
    other = FileLock(tmp_path / ".locks" / "p.lock").acquire()  # another process's write in progress
    try:
        with pytest.raises(InputError, match="being changed by another request"):
            store.put("p", clf, _state(1))
    finally:
        other.release()
    store.put("p", clf, _state(1))
    assert store.version("p") == 2


def test_a_lock_dies_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    code = ("import sys, time; from transzero.locks import FileLock; FileLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        lock = FileLock(path)
        assert not lock.try_acquire()
        with pytest.raises(TimeoutError):
            lock.acquire(timeout=0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert lock.acquire(timeout=5).held
        lock.release()
    finally:
        proc.kill()
        proc.wait()
