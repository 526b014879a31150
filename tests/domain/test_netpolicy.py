from __future__ import annotations

import ipaddress

import pytest

from keyhook.domain.addresses import embedded_ipv4
from keyhook.domain.netpolicy import NetworkPolicy, legacy_ipv4
from keyhook.errors import InvalidArgument
from tests.support.text import fullwidth

STRICT = NetworkPolicy()
SWITCHES = ("--dev", "KEYHOOK_DEV", "KEYHOOK_ACTIONS_ALLOW_HOSTS")


def refusal(policy: NetworkPolicy, url: str, field: str = "endpoint") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        policy.check_endpoint(url, field)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/keyhook",
        "https://hooks.example.com:8443/a?b=c",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",
    ],
)
def test_https_to_public_hosts_is_accepted(url: str) -> None:
    STRICT.check_endpoint(url)


def test_plain_http_is_refused_with_a_message_naming_both_switches() -> None:
    error = refusal(STRICT, "http://hooks.example.com/keyhook")
    assert error.message.startswith("endpoint: ")
    assert "http://" in error.message
    for switch in SWITCHES:
        assert switch in error.message
    assert error.details[0]["field"] == "endpoint"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.9.9.9/hook",
        "https://10.0.0.5/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",  # link-local, cloud metadata
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
        "https://[::ffff:10.0.0.1]/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_non_public_addresses_are_refused_naming_the_switches(url: str) -> None:
    error = refusal(STRICT, url)
    assert "not a public address" in error.message
    for switch in SWITCHES:
        assert switch in error.message


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://LOCALHOST:8443/hook",
        "https://api.localhost/hook",
        "https://printer.local/hook",
        "https://db.internal/hook",
        "https://localhost./hook",
    ],
)
def test_local_names_are_refused(url: str) -> None:
    error = refusal(STRICT, url)
    assert "local name" in error.message
    assert "KEYHOOK_ACTIONS_ALLOW_HOSTS" in error.message


@pytest.mark.parametrize(
    "url",
    ["https://user:pass@hooks.example.com/", "https://token@hooks.example.com/"],
)
def test_credentials_in_the_url_are_refused_even_in_dev(url: str) -> None:
    for policy in (STRICT, NetworkPolicy(dev=True)):
        error = refusal(policy, url)
        assert "credentials" in error.message


@pytest.mark.parametrize(
    "url", ["", "hooks.example.com/x", "ftp://hooks.example.com/", "https:///path", "/relative"]
)
def test_malformed_urls_are_refused_naming_the_field(url: str) -> None:
    error = refusal(STRICT, url, "target.endpoint")
    assert error.details[0]["field"] == "target.endpoint"


def test_overlong_url_is_refused() -> None:
    error = refusal(STRICT, "https://hooks.example.com/" + "a" * 2048)
    assert "2048" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "https://10.0.0.1/hook",
        "http://[::1]:9000/hook",
        "http://hooks.example.com/",
    ],
)
def test_dev_opens_http_and_every_address(url: str) -> None:
    NetworkPolicy(dev=True).check_endpoint(url)


def test_allow_hosts_by_name_opens_http_and_local_names() -> None:
    policy = NetworkPolicy(allow_hosts=("Receiver.Local", "localhost"))
    policy.check_endpoint("http://receiver.local:9000/hook")
    policy.check_endpoint("http://localhost:9000/hook")
    # Other hosts stay closed.
    refusal(policy, "http://other.local/hook")
    refusal(policy, "https://127.0.0.1/hook")


def test_allow_hosts_by_cidr_opens_addresses_in_the_network_only() -> None:
    policy = NetworkPolicy(allow_hosts=("10.1.0.0/16", "fd00::/8"))
    policy.check_endpoint("http://10.1.2.3/hook")
    policy.check_endpoint("https://[fd12::5]/hook")
    refusal(policy, "https://10.2.0.1/hook")
    refusal(policy, "https://192.168.0.1/hook")


def test_allow_hosts_by_single_address() -> None:
    policy = NetworkPolicy(allow_hosts=("127.0.0.1",))
    policy.check_endpoint("http://127.0.0.1:8000/hook")
    refusal(policy, "http://127.0.0.2:8000/hook")


def test_address_allowed_for_resolved_addresses() -> None:
    assert STRICT.address_allowed("hooks.example.com", "93.184.216.34")
    assert STRICT.address_allowed("hooks.example.com", "2606:4700:4700::1111")
    assert not STRICT.address_allowed("hooks.example.com", "127.0.0.1")
    assert not STRICT.address_allowed("hooks.example.com", "::1")
    assert not STRICT.address_allowed("hooks.example.com", "::ffff:127.0.0.1")
    assert not STRICT.address_allowed("hooks.example.com", "169.254.169.254")
    assert not STRICT.address_allowed("hooks.example.com", "fe80::1%eth0")
    assert not STRICT.address_allowed("rebind.example.com", "10.0.0.1")


def test_address_allowed_with_dev_and_allow_list() -> None:
    assert NetworkPolicy(dev=True).address_allowed("anything", "127.0.0.1")
    by_name = NetworkPolicy(allow_hosts=("receiver.internal",))
    assert by_name.address_allowed("receiver.internal", "10.0.0.7")
    assert not by_name.address_allowed("other.internal", "10.0.0.7")
    by_net = NetworkPolicy(allow_hosts=("10.0.0.0/24",))
    assert by_net.address_allowed("any.name", "10.0.0.7")
    assert not by_net.address_allowed("any.name", "10.0.1.7")


def test_allow_list_entries_that_are_not_networks_are_ignored_as_networks() -> None:
    policy = NetworkPolicy(allow_hosts=("not a network", "receiver"))
    assert not policy.address_allowed("elsewhere", "10.0.0.1")
    assert policy.address_allowed("receiver", "10.0.0.1")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
    ],
)
def test_numeric_ipv4_forms_are_refused_when_saved(host: str, address: str) -> None:
    assert str(legacy_ipv4(host)) == address
    with pytest.raises(InvalidArgument, match=address.replace(".", r"\.")):
        NetworkPolicy().check_endpoint(f"https://{host}/hook")


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.1", "0x", "1..2"])
def test_names_are_not_numeric_forms(host: str) -> None:
    assert legacy_ipv4(host) is None


# --- IPv6 forms that carry an IPv4 address (issue 8, finding 5) ---------------------------

# (address, the IPv4 address or range named in the refusal)
CARRIERS = [
    ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible
    ("::7f00:1", "127.0.0.1"),
    ("::a00:1", "10.0.0.1"),
    ("::ffff:0:127.0.0.1", "127.0.0.1"),  # IPv4-translated (SIIT)
    ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64 well-known prefix, cloud metadata
    ("64:ff9b::7f00:1", "127.0.0.1"),
    ("2002:7f00:1::", "127.0.0.1"),  # 6to4
    ("2002:a9fe:a9fe::1", "169.254.169.254"),
    ("64:ff9b:1::808:808", "64:ff9b:1::/48"),  # local-use NAT64: refused whatever it carries
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32"),  # Teredo
    ("fec0::1", "fec0::/10"),  # deprecated site-local
]


@pytest.mark.parametrize(("address", "named"), CARRIERS)
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused_when_saved(
    address: str, named: str
) -> None:
    error = refusal(STRICT, f"https://[{address}]/hook")
    assert "not a public address" in error.message
    assert named in error.message
    for switch in SWITCHES:
        assert switch in error.message


@pytest.mark.parametrize(("address", "named"), CARRIERS)
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused_when_called(
    address: str, named: str
) -> None:
    # What the resolver asks for every A and AAAA answer of a name.
    assert not STRICT.address_allowed("hooks.example.com", address)
    assert NetworkPolicy(dev=True).address_allowed("hooks.example.com", address)


@pytest.mark.parametrize(
    "address", ["::8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::ffff:0:8.8.8.8"]
)
def test_ipv6_forms_carrying_a_public_ipv4_address_are_public(address: str) -> None:
    STRICT.check_endpoint(f"https://[{address}]/hook")
    assert STRICT.address_allowed("hooks.example.com", address)


@pytest.mark.parametrize(("address", "inner"), [("::7f00:1", "127.0.0.1"), ("::1", None)])
def test_embedded_ipv4(address: str, inner: str | None) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert (None if found is None else str(found[0])) == inner


# --- Unicode compatibility forms of hosts (finding 17) ------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://" + fullwidth("localhost") + "/hook", ("localhost", "local name")),
        ("https://\u24dbocalhost/hook", ("localhost", "local name")),
        ("https://" + fullwidth("LOCALHOST") + "./hook", ("localhost.", "local name")),
        ("https://api" + fullwidth(".") + "localhost/hook", ("api.localhost", "local name")),
        ("https://printer\u3002local/hook", ("printer.local", "local name")),
        ("https://" + fullwidth("127.0.0.1") + "/hook", ("127.0.0.1", "not a public address")),
        ("https://" + fullwidth("127.1") + "/hook", ("127.0.0.1", "not a public address")),
        ("https://\u2460\u24ea.0.0.1/hook", ("10.0.0.1", "not a public address")),
    ],
)
def test_hosts_are_judged_in_their_normalised_form(url: str, words: tuple[str, ...]) -> None:
    error = refusal(STRICT, url)
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://" + fullwidth("hooks") + ".example.com/a?b=c", "https://hooks.example.com/a?b=c"),
        ("https://Hooks.Example.COM:8443/x", "https://hooks.example.com:8443/x"),
        ("https://bücher.example/hook", "https://xn--bcher-kva.example/hook"),
        ("https://" + fullwidth("8.8.8.8") + "/hook", "https://8.8.8.8/hook"),
        ("https://hooks.example.com/ünïcode/path", "https://hooks.example.com/ünïcode/path"),
        ("https://[2606:4700:4700::1111]/hook", "https://[2606:4700:4700::1111]/hook"),
    ],
)
def test_check_endpoint_returns_the_url_with_its_normalised_host(url: str, stored: str) -> None:
    assert STRICT.check_endpoint(url) == stored


def test_allow_list_names_are_normalised_too() -> None:
    policy = NetworkPolicy(allow_hosts=("Bücher.Local",))
    assert policy.check_endpoint("http://bücher.local/x") == "http://xn--bcher-kva.local/x"
    assert (
        policy.check_endpoint("http://" + fullwidth("b") + "ücher.local/x")
        == "http://xn--bcher-kva.local/x"
    )


def test_a_host_without_an_ascii_form_is_refused() -> None:
    error = refusal(STRICT, "https://a\u05d0.example/x")  # Latin and Hebrew in one label
    assert "not a valid internationalised host name" in error.message
    assert error.details[0]["field"] == "endpoint"
