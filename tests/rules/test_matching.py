from censorscope.rules.match import compile_match


def test_t_co_substring_hits_collateral_but_not_twitter_names() -> None:
    m = compile_match("substring", "t.co")
    for name in ("microsoft.com", "reddit.com", "rt.com", "t.co", "t.co.example.net"):
        assert m(name), name
    for name in ("twitter.com", "twitter.co.uk", "kremlin.ru"):
        assert not m(name), name


def test_suffix_is_on_label_boundaries() -> None:
    suffix, substring = (
        compile_match("suffix", "reddit.com"),
        compile_match("substring", "reddit.com"),
    )
    assert suffix("reddit.com") and suffix("www.reddit.com")
    assert not suffix("booksreddit.com")
    assert substring("booksreddit.com")


def test_exact_does_not_match_trailing_dot_and_case_is_configurable() -> None:
    assert not compile_match("exact", "twitter.com")("twitter.com.")
    assert compile_match("exact", "twitter.com")("TWITTER.com")
    assert not compile_match("exact", "twitter.com", case_sensitive=True)("TWITTER.com")


def test_regex_and_cidr() -> None:
    assert compile_match("regex", r"^ru\d+\.example$")("ru42.example")
    net = compile_match("cidr", "127.10.101.0/24")
    assert net("127.10.101.7") and not net("127.10.102.7") and not net("not-an-ip")
    assert compile_match("exact", "127.10.0.1")("127.10.0.1")
