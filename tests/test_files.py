"""The atomic-write helper: the old file or the new one, durable, and no partial left over."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from app import files


def test_a_write_puts_the_whole_file_in_place_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "article.txt"
    target.write_text("old")
    files.write_bytes_atomically(target, b"new text")
    assert target.read_bytes() == b"new text"
    assert os.listdir(tmp_path) == ["article.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")

    def half_then_fail(path: Path) -> None:
        path.write_bytes(b"ha")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        files.write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_the_writer_gets_a_fresh_hidden_name_beside_the_target(tmp_path: Path) -> None:
    seen: list[Path] = []

    def write(path: Path) -> None:
        seen.append(path)
        assert not path.exists()  # lleaves would load a file it found there
        path.write_text("x")

    files.write_atomically(tmp_path / "a.md", write)
    files.write_atomically(tmp_path / "a.md", write)
    first, second = seen
    assert first != second and first.parent == tmp_path
    assert first.name.startswith(".") and first.suffix == ".partial"
    assert first.match(files.PARTIAL_GLOB)


def test_the_file_is_fsynced_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def spy_replace(src: str | Path, dst: str | Path) -> None:
        events.append(("replace", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    target = tmp_path / "manifest.json"
    files.write_text_atomically(target, "{}")
    (kind, partial), renamed, synced_folder = events
    assert kind == "fsync" and Path(partial).match(files.PARTIAL_GLOB)
    assert renamed == ("replace", str(target))
    assert synced_folder == ("fsync", str(tmp_path))


def test_text_is_utf8_with_its_own_newlines(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    files.write_text_atomically(target, "Café\r\nline two\n")
    assert target.read_bytes() == "Café\r\nline two\n".encode()


def test_concurrent_writers_of_one_file_all_succeed_and_one_wins_whole(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    texts = [bytes([65 + i]) * 100_000 for i in range(8)]
    errors: list[BaseException] = []

    def write(data: bytes) -> None:
        try:
            files.write_bytes_atomically(target, data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert target.read_bytes() in texts
    assert os.listdir(tmp_path) == ["model.onnx"]


def _fill(text: str):
    def write(folder: Path) -> None:
        (folder / "sub").mkdir()
        (folder / "sub" / "part.txt").write_text(text, encoding="utf-8")

    return write


def test_a_folder_is_written_once_and_the_first_writer_wins(tmp_path: Path) -> None:
    target = tmp_path / "cache"
    assert files.write_folder_once(target, _fill("first"))
    assert not files.write_folder_once(target, _fill("second"))
    assert (target / "sub" / "part.txt").read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_failed_folder_write_leaves_nothing(tmp_path: Path) -> None:
    def broken(folder: Path) -> None:
        (folder / "half.txt").write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        files.write_folder_once(tmp_path / "cache", broken)
    assert list(tmp_path.iterdir()) == []
