"""One data folder and one fallback rule for every cache in it (landscape.folders)."""

from __future__ import annotations

import pytest

from landscape import folders


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """(data folder, per-user cache folder), both under tmp_path."""
    monkeypatch.delenv(folders.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(folders, "user_cache_dir", lambda: tmp_path / "user")
    return tmp_path / "data", tmp_path / "user"


def test_the_data_folder_is_the_argument_then_the_environment_then_the_user_cache(
    homes, tmp_path, monkeypatch
):
    data, user = homes
    assert folders.data_dir() == user
    monkeypatch.setenv(folders.ENV_VAR, str(tmp_path / "env"))
    assert folders.data_dir() == tmp_path / "env"
    assert folders.data_dir(data) == data
    assert folders.data_dir("  ") == tmp_path / "env"  # an empty --data-dir is no argument
    assert folders.mnist_dir(data) == data / "mnist"


@pytest.mark.parametrize("name", folders.CACHES)
def test_a_cache_is_beside_the_data_unless_the_data_is_read_only(homes, name):
    data, user = homes
    assert folders.cache_dir(name, data) == data / name and (data / name).is_dir()
    shared = data.parent / "shared"
    shared.mkdir()
    shared.chmod(0o555)  # read-only by its mode, which counts even for root
    try:
        assert folders.cache_dir(name, shared) == user / name
        assert not (shared / name).exists()
        (user / name).chmod(0o555)  # made by the fallback above
        assert folders.cache_dir(name, shared) is None  # nowhere to write: nothing cached
    finally:
        shared.chmod(0o755)
        (user / name).chmod(0o755)


def test_a_data_folder_that_is_a_file_falls_back_to_the_user_cache(homes):
    data, user = homes
    data.parent.mkdir(exist_ok=True)
    data.write_text("not a folder")
    assert folders.cache_dir("runs", data) == user / "runs"


def test_only_the_named_caches_exist(homes):
    with pytest.raises(ValueError, match="valid: runs, slices, npm, revealjs"):
        folders.cache_dir("tmp")
