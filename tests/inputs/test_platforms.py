"""Platform definitions: the shipped ones, a user's file, and what is wrong in one."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorscope.errors import PlatformError
from censorscope.inputs.platforms import load, select, shipped

WANTED = {"instagram", "facebook", "messenger", "whatsapp", "twitter", "youtube", "tiktok",
          "telegram", "signal"}  # fmt: skip


def test_the_shipped_platforms_have_roles_and_sources() -> None:
    ps = shipped()
    assert set(ps) >= WANTED
    for p in ps.values():
        assert p.source and p.roles() and "website" in p.roles()
    assert any(e.url.startswith("tcp://149.154.") for e in ps["telegram"].endpoints)
    assert {"website", "media", "shortener"} <= set(ps["twitter"].roles())


def test_a_users_file_adds_and_replaces(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(
        '[platform.vk]\nwebsite = "https://vk.com/"\n'
        '[platform.tiktok]\ntitle = "TT"\nwebsite = ["https://tiktok.test/"]\n'
    )
    ps = load(f)
    assert ps["vk"].title == "vk" and ps["vk"].endpoints[0].url == "https://vk.com/"
    assert ps["tiktok"].title == "TT" and len(ps["tiktok"].endpoints) == 1
    assert "instagram" in ps


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[platform.x]\nwebsite = 5\n", "platform.x.website"),
        ("[platform.x]\nwebpage = ['https://a.b/']\n", "platform.x.webpage"),
        ("[platform.x]\nwebsite = ['ftp://a.b/']\n", "platform.x.website[0]"),
        ("[platform.x]\napp = ['tcp://1.2.3.4:70000']\n", "platform.x.app[0]"),
        ("[platform.x]\ntitle = 'X'\n", "platform.x"),
        ("[platform.X]\nwebsite = ['https://a.b/']\n", "platform.X"),
        ("[platforms.x]\n", "platforms"),
        ("platform = 1\n", "platform"),
        ("[platform.x\n", "TOML syntax"),
        ("a = " + "[" * 2000 + "]" * 2000 + "\n", "TOML"),
    ],
)
def test_a_bad_file_names_file_key_and_fix(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(PlatformError) as e:
        load(f)
    assert e.value.file == str(f) and e.value.where == where


def test_not_utf8_missing_and_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "cp1251.toml"
    f.write_bytes("[platform.вк]\n".encode("cp1251"))
    with pytest.raises(PlatformError, match="not UTF-8"):
        load(f)
    for p in (tmp_path / "nope.toml", tmp_path):
        with pytest.raises(PlatformError, match="no such file"):
            load(p)


def test_an_unknown_name_lists_the_known() -> None:
    ps = shipped()
    assert [p.name for p in select(ps, "Instagram,twitter")] == ["instagram", "twitter"]
    with pytest.raises(PlatformError, match="known: facebook, instagram"):
        select(ps, "myspace")
    with pytest.raises(PlatformError, match="no platform"):
        select(ps, " , ")
